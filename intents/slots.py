"""Slot extraction on normalized text: dates, ids, phones, amounts, ages, days, case numbers
and the vocabulary slots (accident_type, transport, relation) from ``config/nlu/slots.yaml``.

Only the contract's slots come out of :meth:`SlotExtractor.extract`; what else the dialogue may
need (a disability grade, a lunar date, a death) is read by :mod:`intents.facts`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from intents.case_numbers import parse_case_number
from intents.dates import DateReading, read_date
from intents.numbers import read_age, read_amount, read_days
from intents.wordre import words_pattern

SlotValue = str | int | float
VOCAB_SLOTS = ("accident_type", "transport", "relation")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_RE_ID = re.compile(r"(?<![\da-z])([1-9](?:[\s-]?\d){16}[\s-]?[\dx])(?![\da-z])")
# a mobile number, dictated in groups too (一八九，二二七三，零五一六 → 189,2273,0516)
_RE_PHONE = re.compile(r"(?<![\d])(?:(?:\+|00)?86[\s-]?)?(1[3-9]\d(?:[\s,、-]?\d){8})(?![\d])")
_RE_PHONE_SEP = re.compile(r"[\s,、-]")
_RE_SEP = re.compile(r"[\s-]")
_RE_AGE = re.compile(r"(?<![\d.])\d{1,3}(?:周岁|岁)?(?![\d.])")
_RE_SELF_WORDS = re.compile(r"我们|我|自己|的|今年|已经|都")
# a message that reports an event: the date words 今天/刚才 then count
_EVENT_INTENTS = frozenset({"claim_report"})
# the writer's own accident is assumed when an accident is told with nobody named (Chinese drops "I")
_SELF_DEFAULT_INTENTS = frozenset({"claim_report"})
_SELF_DEFAULT_MIN_CHARS = 6
_RE_CLAUSE = re.compile(r"[，,。.!！?？；;]+")
# 上回报过自己跋倒 这回是阮老伴: the accident told before the "this time" word is the earlier claim's
_RE_BEFORE_THIS_TIME = re.compile(r"^.*?(?:报过|报了案|报案了|报了)[^。]*?(?:这次|今次|这回|这一次|今回)")
_ORDER = ("claim_no", "id_number", "phone", "date", "amount", "age", "days", "accident_type", "transport",
          "relation")
_RE_DEATH = re.compile(r"去世|过世|身故|死|走了|没了|不在了|过身|遇难")


def id_check_digit(first17: str) -> str:
    """GB 11643 MOD 11-2 check character for the first 17 digits of a resident ID."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=False))
    return _ID_CHECK[total % 11]


def valid_id_number(s: str) -> bool:
    """True for an 18-character resident ID whose check character is right."""
    s = s.upper()
    return len(s) == 18 and s[:17].isdigit() and s[:17].isascii() and id_check_digit(s[:17]) == s[17]


def extract_date(text: str, today: date) -> date | None:
    """First date expression in normalized *text*, resolved against *today* (any "today" word counts)."""
    return read_date(text, today).date


class _Vocab:
    """One vocabulary slot: words and ``re:`` patterns per value; ``_none`` entries block a match."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        words: dict[str, str] = {}
        patterns: list[str] = []
        self._pattern_values: list[str] = []
        for value, entries in table.items():
            for entry in entries:
                if entry.startswith("re:"):
                    patterns.append(f"(?P<p{len(self._pattern_values)}>{entry[3:]})")
                    self._pattern_values.append(value)
                else:
                    words.setdefault(entry, value)
        self._words = words
        alternatives = [*patterns, words_pattern(words)] if words else patterns
        self._re = re.compile("|".join(f"(?:{a})" for a in alternatives))
        self.order = list(table)

    def matches(self, text: str) -> list[tuple[int, str]]:
        """(position, value) of every non-overlapping match, left to right; blockers as ``_none``."""
        out: list[tuple[int, str]] = []
        for m in self._re.finditer(text):
            value = self._pattern_value(m)
            out.append((m.start(), value if value is not None else self._words[m.group(0)]))
        return out

    def remove(self, text: str) -> str:
        """*text* without the words of this slot (blockers stay)."""
        spans = [m.span() for m in self._re.finditer(text)
                 if not (self._pattern_value(m) or self._words.get(m.group(0), "")).startswith("_")]
        for start, end in reversed(spans):
            text = text[:start] + text[end:]
        return text

    def _pattern_value(self, m: re.Match[str]) -> str | None:
        groups = m.groupdict().items()
        return next((self._pattern_values[int(k[1:])] for k, v in groups if v is not None), None)

    def first(self, text: str) -> str | None:
        return next((v for _, v in self.matches(text) if not v.startswith("_")), None)

    def by_priority(self, text: str) -> str | None:
        """The found value listed first in the YAML table (accident types are in priority order)."""
        found = {v for _, v in self.matches(text) if not v.startswith("_")}
        return next((v for v in self.order if v in found), None)


@dataclass(frozen=True)
class SlotReading:
    """Slots of one message plus what the slot rules saw on the way (for :mod:`intents.facts`)."""

    slots: dict[str, SlotValue]
    date: DateReading
    corrected: bool


@dataclass(frozen=True)
class Draft:
    """The slots that do not depend on the intent (first phase of :meth:`SlotExtractor.read`)."""

    rest: str  # the text with case number, ID and phone masked
    today: date
    slots: dict[str, SlotValue]  # identifiers, amount, age, days, accident_type, transport

    def features(self) -> list[str]:
        """Slot-presence features for the intent and FAQ models (``$slot`` and ``$accident_type=…``)."""
        out = ["$" + k for k in self.slots]
        if "accident_type" in self.slots:
            out.append(f"$accident_type={self.slots['accident_type']}")
        return out


class SlotExtractor:
    """Regex and vocabulary slot extraction configured from ``slots.yaml``."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._vocab = {slot: _Vocab({str(k): [str(w) for w in v] for k, v in raw[slot].items()})
                       for slot in VOCAB_SLOTS}
        self_patterns = [str(p) for p in raw.get("self_patterns") or []]
        self._self = re.compile("|".join(f"(?:{p})" for p in self_patterns)) if self_patterns else None
        others = sorted((str(w) for w in raw.get("other_person") or []), key=len, reverse=True)
        self._other = re.compile("|".join(re.escape(w) for w in others)) if others else None
        self._identity = re.compile(str(raw["writer_identity"])) if raw.get("writer_identity") else None
        self._vocative = re.compile(str(raw["vocative"])) if raw.get("vocative") else None
        self._correction = re.compile(str(raw["correction"])) if raw.get("correction") else None

    @classmethod
    def load(cls, data_dir: Path) -> SlotExtractor:
        """Read ``slots.yaml`` from *data_dir*."""
        with (data_dir / "slots.yaml").open(encoding="utf-8") as fh:
            raw: Any = yaml.safe_load(fh)
        return cls(raw)

    def extract(self, text: str, today: date, intent: str | None = None) -> dict[str, SlotValue]:
        """All slots found in normalized *text*; a key is present only when found."""
        return self.read(text, today, intent).slots

    def read(self, text: str, today: date, intent: str | None = None) -> SlotReading:
        """Slots of normalized *text*; *intent* (when known) tells whether the message reports an event."""
        return self.finish(self.draft(text, today), intent)

    def draft(self, text: str, today: date) -> Draft:
        """First phase: everything but the date and the relation (which depend on the intent)."""
        slots: dict[str, SlotValue] = {}
        rest = text
        if any(c.isdigit() for c in text):
            rest = self._identifiers(rest, slots)
            amount = read_amount(rest)
            if amount is not None:
                slots["amount"] = amount
            age = read_age(rest, amount)
            if age is not None:
                slots["age"] = age
        days = read_days(rest)
        if days is not None:
            slots["days"] = days
        told = _RE_BEFORE_THIS_TIME.match(rest)
        now_told = rest[told.end():] if told else rest
        accident = self._vocab["accident_type"].by_priority(now_told)
        if accident is not None:
            slots["accident_type"] = accident
        transport = self._vocab["transport"].first(now_told)
        if transport is not None:
            slots["transport"] = transport
        return Draft(rest, today, slots)

    def without_people(self, text: str) -> str:
        """Normalized *text* without the persons it names (relatives, 我, 他/她, 老人) and their ages: what
        is left of 那我妈呢 她58 is 那呢 (a follow-up that only changes whom it is about)."""
        text = self._vocab["relation"].remove(_RE_SELF_WORDS.sub("", _RE_AGE.sub("", text)))
        return text if self._other is None else self._other.sub("", text)

    def finish(self, draft: Draft, intent: str | None) -> SlotReading:
        """Second phase: the date ("today" words only for an event) and the relation ("self" by default
        for a reported accident)."""
        slots = dict(draft.slots)
        if not draft.rest:
            return SlotReading(slots, DateReading(None), False)
        accident = "accident_type" in slots
        event = intent in _EVENT_INTENTS or (intent is None and accident)
        reading = read_date(draft.rest, draft.today, event=event)
        if accident and reading.date is not None:
            reading = self._accident_clause_date(draft, event) or reading
        if reading.date is not None:
            slots["date"] = reading.date.isoformat()
        relation, corrected = self._relation(draft.rest, accident and intent in _SELF_DEFAULT_INTENTS)
        if relation is not None:
            slots["relation"] = relation
        ordered = {k: slots[k] for k in _ORDER if k in slots}
        return SlotReading(ordered, reading, corrected)

    def _accident_clause_date(self, draft: Draft, event: bool) -> DateReading | None:
        """The date of the clause that tells the accident (or of the clause just before it, when that
        one has none): 上礼拜四跌倒，前天转院 → Thursday, not the day of the transfer; 18号跋倒，今日问伊
        → the 18th. None when the message has one clause or the accident's clause no date."""
        clauses = [c for c in _RE_CLAUSE.split(draft.rest) if c]
        if len(clauses) < 2:
            return None
        vocab = self._vocab["accident_type"]
        for i, clause in enumerate(clauses):
            if vocab.by_priority(clause) is None:
                continue
            for part in (clause, clauses[i - 1] if i else ""):
                found = read_date(part, draft.today, event=event) if part else DateReading(None)
                if found.date is not None:
                    return found
            return None
        return None

    @staticmethod
    def _identifiers(rest: str, slots: dict[str, SlotValue]) -> str:
        """Case number, ID and phone (each masked before numbers and dates are read)."""
        claim = parse_case_number(rest)
        if claim is not None:
            slots["claim_no"] = claim
            rest = _mask_claim(rest)
        for m in _RE_ID.finditer(rest):
            cand = _RE_SEP.sub("", m.group(1)).upper()
            if valid_id_number(cand):
                slots["id_number"] = cand
                rest = rest[: m.start()] + " " + rest[m.end():]
                break
        pm = _RE_PHONE.search(rest)
        if pm:
            slots["phone"] = _RE_PHONE_SEP.sub("", pm.group(1))
            rest = rest[: pm.start()] + " " + rest[pm.end():]
        return rest

    def _relation(self, text: str, accident_told: bool) -> tuple[str | None, bool]:
        """Who the insured person is, and whether the message corrects itself (不是我爸 是我老伴)."""
        identity = None
        if self._vocative is not None:
            text = self._vocative.sub(" ", text)
        if self._identity is not None:
            m = self._identity.search(text)
            if m:
                identity = m
                text = text[: m.start()] + " " + text[m.end():]
        fix = self._correction.search(text) if self._correction else None
        corrected = fix is not None
        found = [(p, v) for p, v in self._vocab["relation"].matches(text) if not v.startswith("_")]
        if found and fix is not None and self._correction is not None:
            # 不是我老爸 是我老伴 (我叫伊老爸是跟孩子叫的): the one named after the one denied
            after = [(p, v) for p, v in found if p >= fix.start()]
            first = after[0][0] if after else len(text)  # 错了 不是我妈…: the last correction before it
            fix = [m for m in self._correction.finditer(text) if m.start() < first][-1]
            is_at = min((i for i in (text.find("是", fix.end()), text.find("系", fix.end())) if i >= 0),
                        default=len(text))
            # 不是我老爸 是…: the first one is denied; 哦不是，是阮老爸: none is
            denied = 1 if after and after[0][0] < is_at else 0
            return (after[denied][1] if len(after) > denied else found[-1][1]), corrected
        this_time = _RE_THIS_TIME.search(text)  # 上次报过我老公 这次报我自己: the one of this report
        if this_time is not None:
            later = [(p, v) for p, v in found if p >= this_time.end()]
            if later:
                return later[0][1], corrected
            if "自己" in text[this_time.end():this_time.end() + 6]:
                return "self", corrected
        if len(found) >= 2 and _RE_ASKS_FOR.search(text[max(0, found[0][0] - 3):found[0][0] + 6]):
            return found[1][1], corrected  # 我是帮我阿嬷问的 我阿公前天被车撞了: the one hurt is the second
        if found:
            return found[0][1], corrected
        if identity is not None:
            return _parent_of(identity.group(0), identity.group(1), text), corrected
        other = self._other is not None and self._other.search(text) is not None
        if other and self._other is not None:  # 我家老人出意外了: the accident is not the writer's
            text = self._other.sub(",", text)
        if self._self is not None and self._self.search(text):
            return "self", corrected
        if (accident_told and not other and len(text) >= _SELF_DEFAULT_MIN_CHARS
                and not _RE_DEATH.search(text)):  # a writer who tells of a death is not the one who died
            return "self", corrected
        return None, corrected


# 先报阿嬷这个: this report's person (not 叫我先报案)
_RE_THIS_TIME = re.compile(r"(?:这次|今次|这回|这一次|今回|先报(?!案|一下|个案|了))")
_RE_ASKS_FOR = re.compile(r"[帮替代](?:我|阮)?[\u4e00-\u9fff]{1,3}(?:问|打听)")


def _parent_of(phrase: str, role: str, rest: str = "") -> str | None:
    """The insured person when the writer names themself: 我是她女儿 → mother, 我是他孙子 → grandfather;
    after a name (我是王金花的女儿) the pronoun of the rest of the message (她昨天跋倒) tells."""
    she = "她" in phrase
    he = "他" in phrase
    if not (she or he) and "的" in phrase:
        she, he = "她" in rest and "他" not in rest, "他" in rest and "她" not in rest
    if not (she or he):
        return None
    if role in ("儿子", "女儿", "儿", "仔", "儿媳妇", "儿媳", "媳妇", "女婿"):
        return "mother" if she else "father"
    if role.startswith(("孙", "外孙")):
        return "grandmother" if she else "grandfather"
    return "other_relative"


def _mask_claim(text: str) -> str:
    return re.sub(r"(?i)(lp|ts|sm)[\s\-_]*(?:\d[\s\-]*){10}\d", " ", text, count=1)
