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
_RE_DIGIT_FW = str.maketrans("１２３４５６７８９０", "1234567890")


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

    @property
    def copy(self) -> Copy:
        return self.services.copy

    @property
    def box(self) -> SecretBox:
        return self.services.box

    @property
    def text(self) -> str:
        return (self.message.text or "").strip()

    @property
    def norm(self) -> str:
        """The NLU's normalized text (simplified, Teochew forms in Mandarin, numerals in digits)."""
        reading = self.reading
        return str(getattr(reading, "normalized", "") or self.text) if reading is not None else self.text

    @property
    def plain(self) -> str:
        """The customer's own words in simplified characters (for names, hospitals, addresses)."""
        return self.services.extract.plain(self.text)

    @property
    def facts(self) -> Any:
        """The NLU's readings beyond the slots (death, emergency, lunar date...), or None."""
        return getattr(self.reading, "facts", None) if self.reading is not None else None

    def fact(self, name: str) -> Any:
        """One reading of :attr:`facts` (None/False when there is none)."""
        return getattr(self.facts, name, None)

    @property
    def extract(self) -> Extractor:
        return self.services.extract

    def cue(self, key: str) -> bool:
        """True when the normalized text holds a word of the copy file's list ``key``."""
        return self.copy.contains_any(key, self.norm)

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
        )

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
        return len(t) <= 8 and self.copy.contains_any("none_words", t)

    @property
    def asks(self) -> bool:
        """True when the message is a question (吗, 多少, 能不能, 怎么...)."""
        return self.cue("question_words")
