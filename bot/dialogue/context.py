"""What a flow sees during one turn: the message, the state, the session, the NLU reading, and the
few services it may use (:class:`TurnServices`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar
from backend.products.schemas import Product
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from bot.contract import InboundMessage
from bot.dialogue.copy import Copy
from bot.dialogue.desk import HandoffDesk
from bot.dialogue.extract import Extractor
from bot.dialogue.state import FlowFrame, SecretBox, State

SHANGHAI = ZoneInfo("Asia/Shanghai")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_RE_DIGIT = re.compile(r"^\s*(?:第)?\s*([1-9]|[一二三四五六七八九])\s*(?:个|项|号)?\s*[.。!！]?\s*$")
# the yes-no questions of spoken Chinese and Teochew: 赔不赔 / 保唔保; 有住院津贴无 (有…没 at the end)
_RE_YES_NO = re.compile(r"([\u4e00-\u9fff])不\1|有[^\s,.!?，。！？]{1,10}没\s*[?？]?\s*$")
_RE_DIGIT_FW = str.maketrans("１２３４５６７８９０", "1234567890")
_UNREAD = object()  # Turn._read_of before the first look at the text


class Prediction(Protocol):
    """The parts of an NLU prediction the dialogue uses."""

    intent: str
    confidence: float
    faq_topic: str | None
    faq_score: float
    slots: dict[str, Any]


@dataclass
class NoPrediction:
    """Stands in for a prediction on turns without text (events, images)."""

    intent: str = ""
    confidence: float = 0.0
    faq_topic: str | None = None
    faq_score: float = 0.0
    slots: dict[str, Any] = field(default_factory=dict)


def parse_digit(text: str, limit: int) -> int | None:
    """A numbered-choice answer ("1", "１", "一", "第2个") within ``1..limit``, else None."""
    m = _RE_DIGIT.match(text.translate(_RE_DIGIT_FW))
    if not m:
        return None
    raw = m.group(1)
    value = int(raw) if raw.isdigit() else _CN_DIGITS[raw]
    return value if 1 <= value <= limit else None


@dataclass(frozen=True, slots=True)
class TurnServices:
    """What flows may use besides the session, built once by the engine."""

    cipher: FieldCipher
    catalog: ProductCatalog
    calendar: WorkingCalendar
    copy: Copy
    box: SecretBox  # private values kept in the state, encrypted
    faq_text: Callable[[str, str], str]  # (product id, topic) → the FAQ answer; KeyError if none
    threshold: float  # the NLU confidence a reading needs to count
    interrupt_intents: frozenset[str]  # intents that interrupt a flow under way
    extract: Extractor  # names, hospitals, addresses, numbers and lunar dates in free text
    lookups: Callable[[str, str], bool]  # (user, "check" | "fail") → False when over the limit (M-09)
    handoff: HandoffDesk  # the queue's wait estimate and console events


@dataclass
class Turn:
    """One customer turn under way."""

    services: TurnServices
    session: Session
    message: InboundMessage
    state: State
    now: dt.datetime
    product: Product
    pred: Prediction = field(default_factory=NoPrediction)
    reading: Prediction | None = None  # the NLU's reading of the text, once made
    replies: list[str] = field(default_factory=list)
    private_values: list[str] = field(default_factory=list)
    log_slots: dict[str, Any] = field(default_factory=dict)
    noted: set[str] = field(default_factory=set)  # the notes this message changed (memory.remember)
    choice_before: dict[str, Any] | None = None  # the numbered choice pending when the message came
    # What was read from the text, kept for the rest of the turn (several dozen looks a turn): the
    # normalized text, the word lists' hits and the plain text, valid while ``reading`` and ``message``
    # stay the objects they were read from (both are replaced, never changed in place).
    _read_of: tuple[Any, Any] = field(default=(_UNREAD, _UNREAD), init=False, repr=False, compare=False)
    _norm: str = field(default="", init=False, repr=False, compare=False)
    _cues: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)
    _plain: tuple[Any, str] = field(default=(_UNREAD, ""), init=False, repr=False, compare=False)

    @property
    def copy(self) -> Copy:
        return self.services.copy

    @property
    def box(self) -> SecretBox:
        return self.services.box

    @property
    def text(self) -> str:
        return (self.message.text or "").strip()

    def _read(self) -> str:
        """The normalized text, read afresh when the reading or the message changed (the cue hits
        of another text are dropped then)."""
        reading, message = self.reading, self.message
        of = self._read_of
        if of[0] is reading and of[1] is message:
            return self._norm
        text = (message.text or "").strip()
        self._norm = str(getattr(reading, "normalized", "") or text) if reading is not None else text
        self._cues = {}
        self._read_of = (reading, message)
        return self._norm

    @property
    def norm(self) -> str:
        """The NLU's normalized text (simplified, Teochew forms in Mandarin, numerals in digits)."""
        return self._read()

    @property
    def plain(self) -> str:
        """The customer's own words in simplified characters (for names, hospitals, addresses)."""
        message = self.message
        of, plain = self._plain
        if of is not message:
            plain = self.services.extract.plain(self.text)
            self._plain = (message, plain)
        return plain

    @property
    def facts(self) -> Any:
        """The NLU's readings beyond the slots (death, emergency, lunar date...), or None."""
        return getattr(self.reading, "facts", None) if self.reading is not None else None

    def fact(self, name: str) -> Any:
        """One reading of :attr:`facts` (None/False when there is none)."""
        reading = self.reading
        return getattr(getattr(reading, "facts", None), name, None) if reading is not None else None

    @property
    def extract(self) -> Extractor:
        return self.services.extract

    def cue(self, key: str) -> bool:
        """True when the normalized text holds a word of the copy file's list ``key`` (each list is
        searched once a turn)."""
        of = self._read_of
        if of[0] is not self.reading or of[1] is not self.message:
            self._read()
        cues = self._cues
        hit = cues.get(key)
        if hit is None:
            copy = self.services.copy
            hit = copy.word_pattern(key).search(self._norm) is not None
            unless = (copy.data.get("cue_unless") or {}).get(key) if hit else None
            hit = cues[key] = hit and not (unless and self.cue(str(unless)))  # 之前都无报过: not reported
        return hit

    def note_secret(self, key: str) -> str | None:
        """A private value the customer gave earlier in the conversation."""
        value = self.box.get(self.state, key)
        if value:
            self.private_values.append(value)
        return value

    def keep_note_secret(self, key: str, value: str) -> None:
        """Remember a private value for the rest of the conversation (encrypted)."""
        self.private_values.append(value)
        self.box.put(self.state, key, value)

    @property
    def today(self) -> dt.date:
        """Today in Asia/Shanghai."""
        return self.now.astimezone(SHANGHAI).date()

    def say(self, key: str, **values: Any) -> None:
        """Append one text from the copy file."""
        self.replies.append(self.copy.t(key, **values))

    def say_text(self, text: str) -> None:
        """Append an already-built text."""
        self.replies.append(text)

    def ask_choice(self, key: str, labels: list[str]) -> None:
        """Append a question with numbered answers."""
        self.replies.append(self.copy.t(key) + "\n" + self.copy.numbered(labels))

    def digit(self, limit: int) -> int | None:
        """The message as a numbered-choice answer, if it is one."""
        return parse_digit(self.text, limit)

    @property
    def confident(self) -> bool:
        """True when the NLU is sure enough of the intent."""
        return bool(self.pred.intent) and self.pred.confidence >= self.services.threshold

    def interrupts(self, frame: FlowFrame) -> bool:
        """True when the message is confidently about something else than the pending question."""
        return (
            self.confident
            and self.pred.intent in self.services.interrupt_intents
            and self.pred.intent != frame.flow
            # a remark the model reads as a product question (狗是无主的) is no question
            and (self.pred.intent != "product_question" or self.asks)
            # 我阿爸行唔动，我请假在家等 in a complaint about a visit: its story, not a new request
            and not (frame.flow == "complaint" and self.pred.intent in ("home_visit", "claim_progress")
                     and not (self.cue("visit_words") and self.visit_wanted()) and not self.asks)
            # 交材料 / 阮住院个 while a visit is booked: what the visit is for, unless asked as a question
            and not (frame.flow == "home_visit" and self.pred.intent in ("claim_materials", "claim_report")
                     and not self.asks and len(self.norm) <= 30)
            # 先报阿公的吧，阿嬷的…明天再报 / 之前无报过案: which report, not a progress question
            and not (frame.flow == "claim_report" and self.pred.intent == "claim_progress"
                     and (self.cue("report_request_words") or self.cue("not_reported_words"))
                     and not self.cue("progress_words"))
            # 投诉那个柜员。还有材料交了几时会审好 in a complaint: a question beside it, no progress lookup
            and not (frame.flow == "complaint" and self.pred.intent == "claim_progress"
                     and self.cue("timeline_words") and not self.pred.slots.get("claim_no"))
            # 你们的人讲赔六百，九级是按几成算的 in a report: a question of the sum, no complaint
            and not (frame.flow == "claim_report" and self.pred.intent == "complaint" and self.asks
                     and self.cue("amount_words") and not (self.cue("complaint_only_words")
                                                           or self.cue("angry_words")))
            # 伊痛到行唔得 一直喊 你们快点 in a report: hurry, no complaint unless said so;
            # 等一下 我打电话问清楚: a pause, no complaint either
            and not (frame.flow in ("claim_report", "info_update") and self.pred.intent == "complaint"
                     and (self.cue("hurry_words") or self.cue("injury_words") or self.cue("wait_words")
                          or frame.flow == "info_update")
                     and not (self.cue("complaint_only_words") or self.cue("angry_words")
                              or self.cue("complaint_cue_words")))
        )

    def visit_wanted(self) -> bool:
        """True unless the visit words tell of one that happened (前日来阮厝收资料，收了阿公200块)."""
        return not self.cue("past_visit_words")

    def secret(self, frame: FlowFrame, key: str) -> str | None:
        """A private value of the frame, decrypted."""
        value = self.box.get(frame, key)
        if value:
            self.private_values.append(value)
        return value

    def keep_secret(self, frame: FlowFrame, key: str, value: str) -> None:
        """Keep a private value in the frame, encrypted."""
        self.private_values.append(value)
        self.box.put(frame, key, value)

    def is_none_answer(self) -> bool:
        """True for "没有"-like answers to optional questions."""
        t = self.norm
        return len(t) <= 8 and self.cue("none_words")

    @property
    def asks(self) -> bool:
        """True when the message is a question (吗, 多少, 能不能, 怎么...; 保不保, 有住院津贴没)."""
        return self.cue("question_words") or bool(_RE_YES_NO.search(self.norm))
