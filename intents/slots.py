"""Slot extraction on normalized text: dates, ids, phones, amounts, ages, days, case numbers
and the vocabulary slots (accident_type, transport, relation) from ``config/nlu/slots.yaml``."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from intents.case_numbers import parse_case_number

SlotValue = str | int | float
VOCAB_SLOTS = ("accident_type", "transport", "relation")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_RE_ID = re.compile(r"(?<![\da-z])([1-9](?:[\s-]?\d){16}[\s-]?[\dx])(?![\da-z])")
_RE_PHONE = re.compile(r"(?<![\d])(?:(?:\+|00)?86[\s-]?)?(1[3-9]\d(?:[\s-]?\d){8})(?![\d])")
_RE_SEP = re.compile(r"[\s-]")

_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
             "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_RE_FULL_DATE = re.compile(r"(?<!\d)(20\d{2}|19\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_RE_MONTH_DAY = re.compile(r"(去年|今年|前年)?(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})(?:号|日)?(?![\d天个])")
_RE_DOT_DATE = re.compile(
    r"(?<![\d.])(\d{1,2})[./](\d{1,2})(?:号|日|那天|那日|晚上|早上|上午|下午|中午|凌晨|当天)")
_RE_REL_MONTH_DAY = re.compile(r"(上个?月|这个?月|本月)(\d{1,2})\s*[号日]")
_RE_DAY_ONLY = re.compile(r"(?<![\d月.])(\d{1,2})\s*号(?![楼线床房窗口码])")
_RE_DAYS_AGO = re.compile(r"(\d{1,3})\s*(?:天|日)(?:以前|之前|前)")
_RE_WEEKDAY = re.compile(r"(上上|上|这|本)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天1-7])")
_REL_DAYS = (("大前天", -3), ("大前日", -3), ("前天", -2), ("昨天", -1), ("昨晚", -1), ("昨夜", -1),
             ("昨儿", -1), ("今天", 0), ("今早", 0), ("今晚", 0), ("今儿", 0), ("今天早上", 0), ("刚才", 0),
             ("刚刚", 0), ("大后天", 3), ("明天", 1), ("明早", 1), ("明晚", 1), ("后天", 2))

_RE_AMOUNT_UNIT = re.compile(r"(\d+(?:\.\d+)?)\s*多?\s*(?:元|块钱|块|圆|rmb|人民币)")
_RE_AMOUNT_VERB = re.compile(
    r"(?:赔|赔了|赔偿|赔付|花了|花费|花|付了|交了|给了|报销|医药费|医疗费|药费|费用|拿到|收到|到账|欠|要赔|赔我)"
    r"\s*(?:了|我|大概|差不多|约)?\s*(\d{2,}(?:\.\d+)?)(?![\d岁天号月年])")
_RE_AGE = re.compile(r"(?<![\d.])(\d{1,3})\s*多?\s*(?:周岁|岁)")
_RE_AGE_CTX = re.compile(r"(?:今年|年龄|年纪|已经|满)\s*(\d{2,3})(?![\d年号元块天月.个周])")
# "奶奶95了": a bare number of 50–119 followed by 了 (amounts and durations carry a unit)
_RE_AGE_LE = re.compile(r"(?<![\d.])([5-9]\d|1[01]\d)\s*了")
_RE_DAYS = re.compile(r"(\d{1,3})\s*多?\s*(天|日|个星期|个礼拜|星期|礼拜|周|个月)(?!前|以前|之前|\d)")
_RE_HALF_MONTH = re.compile(r"住[^,.!?，。]{0,4}半个月")


def id_check_digit(first17: str) -> str:
    """GB 11643 MOD 11-2 check character for the first 17 digits of a resident ID."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=False))
    return _ID_CHECK[total % 11]


def valid_id_number(s: str) -> bool:
    """True for an 18-character resident ID whose check character is right."""
    s = s.upper()
    return len(s) == 18 and s[:17].isdigit() and s[:17].isascii() and id_check_digit(s[:17]) == s[17]


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _month_day(today: date, m: int, d: int, year_word: str | None) -> date | None:
    if year_word == "去年":
        return _safe_date(today.year - 1, m, d)
    if year_word == "前年":
        return _safe_date(today.year - 2, m, d)
    cand = _safe_date(today.year, m, d)
    if cand is not None and cand > today and year_word != "今年":
        cand = _safe_date(today.year - 1, m, d)
    return cand


def extract_date(text: str, today: date) -> date | None:
    """First date expression in normalized *text*, resolved against *today*."""
    m = _RE_FULL_DATE.search(text)
    if m:
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _RE_MONTH_DAY.search(text)
    if m:
        return _month_day(today, int(m.group(2)), int(m.group(3)), m.group(1))
    m = _RE_DOT_DATE.search(text)
    if m:
        return _month_day(today, int(m.group(1)), int(m.group(2)), None)
    m = _RE_REL_MONTH_DAY.search(text)
    if m:
        first = today.replace(day=1)
        if m.group(1).startswith("上"):
            first = (first - timedelta(days=1)).replace(day=1)
        return _safe_date(first.year, first.month, int(m.group(2)))
    for word, delta in _REL_DAYS:
        if word in text:
            # 大前天 contains 前天: the table lists longer words first
            return today + timedelta(days=delta)
    m = _RE_DAYS_AGO.search(text)
    if m:
        return today - timedelta(days=int(m.group(1)))
    m = _RE_WEEKDAY.search(text)
    if m:
        monday = today - timedelta(days=today.weekday())
        wd = _WEEKDAYS[m.group(2)]
        if m.group(1) == "上":
            return monday - timedelta(days=7) + timedelta(days=wd)
        if m.group(1) == "上上":
            return monday - timedelta(days=14) + timedelta(days=wd)
        cand = monday + timedelta(days=wd)
        if m.group(1) is None and cand > today:
            cand -= timedelta(days=7)
        return cand
    m = _RE_DAY_ONLY.search(text)
    if m:
        d = int(m.group(1))
        dc = _safe_date(today.year, today.month, d)
        if dc is None or dc > today:
            prev = today.replace(day=1) - timedelta(days=1)
            dc = _safe_date(prev.year, prev.month, d)
        return dc
    return None


def _number(s: str) -> int | float:
    v = float(s)
    return int(v) if v.is_integer() else v


class SlotExtractor:
    """Regex and vocabulary slot extraction configured from ``slots.yaml``."""

    def __init__(self, vocab: dict[str, dict[str, list[str]]], self_patterns: list[str]) -> None:
        self._vocab: dict[str, tuple[re.Pattern[str], dict[str, str]]] = {}
        for slot, table in vocab.items():
            lookup: dict[str, str] = {}
            for value, words in table.items():
                for w in words:
                    lookup.setdefault(str(w), str(value))
            keys = sorted(lookup, key=lambda k: (-len(k), k))
            self._vocab[slot] = (re.compile("|".join(re.escape(k) for k in keys)), lookup)
        self._self = re.compile("|".join(f"(?:{p})" for p in self_patterns)) if self_patterns else None

    @classmethod
    def load(cls, data_dir: Path) -> SlotExtractor:
        """Read ``slots.yaml`` from *data_dir*."""
        with (data_dir / "slots.yaml").open(encoding="utf-8") as fh:
            raw: Any = yaml.safe_load(fh)
        vocab = {slot: {str(k): [str(w) for w in v] for k, v in raw[slot].items()} for slot in VOCAB_SLOTS}
        return cls(vocab, [str(p) for p in raw.get("self_patterns") or []])

    def extract(self, text: str, today: date) -> dict[str, SlotValue]:
        """All slots found in normalized *text*; a key is present only when found."""
        slots: dict[str, SlotValue] = {}
        if not text:
            return slots
        rest = text
        if any(c.isdigit() for c in text):
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
                slots["phone"] = _RE_SEP.sub("", pm.group(1))
                rest = rest[: pm.start()] + " " + rest[pm.end():]
            self._numbers(rest, slots)
        elif "半个月" in rest and _RE_HALF_MONTH.search(rest):
            slots["days"] = 15
        d = extract_date(rest, today)
        if d is not None:
            slots["date"] = d.isoformat()
        for slot in VOCAB_SLOTS:
            pattern, lookup = self._vocab[slot]
            # values starting with "_" are blockers: 电动车 is not 动车 (rail)
            found = (lookup[m.group(0)] for m in pattern.finditer(rest))
            value = next((v for v in found if not v.startswith("_")), None)
            if value is not None:
                slots[slot] = value
        if "relation" not in slots and self._self is not None and self._self.search(rest):
            slots["relation"] = "self"
        return slots

    @staticmethod
    def _numbers(rest: str, slots: dict[str, SlotValue]) -> None:
        m = _RE_AMOUNT_UNIT.search(rest) or _RE_AMOUNT_VERB.search(rest)
        if m:
            slots["amount"] = _number(m.group(1))
        am = _RE_AGE.search(rest) or _RE_AGE_CTX.search(rest)
        if am is None:
            am = _RE_AGE_LE.search(rest)
            if am and m and am.start(1) == m.start(1):  # "交了80了": that number is the amount
                am = None
        if am and 0 < int(am.group(1)) <= 130:
            slots["age"] = int(am.group(1))
        for dm in _RE_DAYS.finditer(rest):
            before = rest[max(0, dm.start() - 8): dm.start()]
            after = rest[dm.end(): dm.end() + 3]
            per_day = before.endswith("每") or (dm.group(1) == "1" and not after.startswith(("院", "的院")))
            if not per_day and ("住" in before or after.startswith(("院", "的院", "医院"))):
                n = int(dm.group(1))
                unit = dm.group(2)
                if unit in ("个星期", "个礼拜", "星期", "礼拜", "周"):
                    n *= 7
                elif unit == "个月":
                    n *= 30
                slots["days"] = n
                break
        else:
            if _RE_HALF_MONTH.search(rest):
                slots["days"] = 15


def _mask_claim(text: str) -> str:
    return re.sub(r"(?i)(lp|ts|sm)[\s\-_]*(?:\d[\s\-]*){10}\d", " ", text, count=1)
