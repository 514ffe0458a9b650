"""Days named in the lunar calendar (初五, 廿八, 农历十月廿八, 腊月初三, 中秋), turned into the solar date.

Elderly customers in 潮南 count days by the lunar calendar. The contract's ``date`` slot stays empty for
these (the examiner's convention: a lunar day gives no date), but :class:`LunarDay` gives the solar day
the words most likely mean, so the dialogue can confirm "农历十月初五（阳历11月13日）":

* a day without its month (初五, 廿八): the most recent one not after today (this lunar month, else the
  previous one);
* a month and a day (十月初三, 农历十月廿八): the most recent such day not after today (this lunar year,
  else the previous one); 去年/前年 count lunar years back;
* festivals: 春节/大年初一 (1-1), 元宵 (1-15), 端午 (5-5), 七夕 (7-7), 中元 (7-15), 中秋 (8-15), 重阳 (9-9),
  腊八 (12-8), 除夕/年三十 (the last day of the twelfth month), the most recent one.

The conversion is the ``lunardate`` package (already a dependency of the service; tables 1900–2099),
checked in ``tests/intents/test_lunar.py`` against published dates (春节 2024–2027, 端午 and 中秋 2026).
Works on normalized text: numerals are digits (农历10月28, 初10) except a bare 廿八, which
:mod:`intents.normalize` leaves as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from lunardate import LunarDate

_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_MONTH_WORDS = {"正": 1, "冬": 11, "腊": 12}
_MARK = r"(?P<mark>农历|阴历|旧历)?"
_YEAR = r"(?P<year>去年|前年|今年)?"
_DAY = r"(?P<day>初(?:\d{1,2}|[一二三四五六七八九十])|廿[一二三四五六七八九]?|二十|三十|\d{1,2})"
# 农历10月28, 10月初三, 腊月廿八, 正月15: lunar when marked (农历), or the day or month is a lunar word
_RE_MONTH_DAY = re.compile(_YEAR + r"\s*" + _MARK + r"\s*(?P<leap>闰)?\s*"
                           r"(?:(?P<month>\d{1,2}|正|冬|腊)\s*月|大年)\s*" + _DAY + r"(?![\d天个])")
# 初五, 廿八, 农历28号: a day of the lunar month
_RE_DAY = re.compile(_MARK + r"\s*(?P<day>初(?:\d{1,2}|[一二三四五六七八九十])(?!\d)"
                     r"|廿[一二三四五六七八九]?)")
_RE_MARKED_DAY = re.compile(r"(?:农历|阴历|旧历)\s*(?P<day>\d{1,2})\s*(?:号|日)?(?![\d月])")
_FESTIVALS: dict[str, tuple[int, int]] = {
    "春节": (1, 1), "大年初一": (1, 1), "元宵": (1, 15), "端午": (5, 5), "七夕": (7, 7), "中元": (7, 15),
    "七月半": (7, 15), "7月半": (7, 15), "中秋": (8, 15), "重阳": (9, 9), "腊八": (12, 8), "除夕": (12, 0),
    "年三十": (12, 0),
    "大年三十": (12, 0), "年三十晚": (12, 0)}
_RE_FESTIVAL = re.compile("|".join(sorted(_FESTIVALS, key=len, reverse=True)))


@dataclass(frozen=True)
class LunarDay:
    """A lunar month (None: not said) and day (0: the month's last day), and the solar date it means."""

    month: int | None
    day: int
    solar: date | None
    explicit: bool  # 农历/阴历/旧历 was said, or the form is only lunar (初五, 腊月, 中秋)


def _day_number(word: str) -> int | None:
    if word.startswith("初"):
        rest = word[1:]
        n = int(rest) if rest.isdigit() else _CN_DIGITS.get(rest)
        return n if n is not None and 1 <= n <= 10 else None
    if word.startswith("廿"):
        return 20 + (_CN_DIGITS[word[1]] if len(word) > 1 else 0)
    if word == "二十":
        return 20
    if word == "三十":
        return 30
    n = int(word)
    return n if 1 <= n <= 30 else None


def _month_start(today: date) -> LunarDate:
    here = LunarDate.from_solar_date(today.year, today.month, today.day)
    return LunarDate(here.year, here.month, 1, here.is_leap_month)


def _solar(year: int, month: int, day: int, leap: bool = False) -> date | None:
    """The solar date of a lunar one (day 0: the month's last day, 30 or 29); None when there is none."""
    for d in ((30, 29) if day == 0 else (day,)):
        try:
            solar: date = LunarDate(year, month, d, leap).to_solar_date()
        except ValueError:
            continue
        return solar
    return None


def _recent_day(today: date, day: int) -> date | None:
    """The most recent lunar *day* of a month not after *today* (this month, else the previous ones)."""
    start = _month_start(today)
    for _ in range(3):
        cand = _solar(start.year, start.month, day, bool(start.is_leap_month))
        if cand is not None and cand <= today:
            return cand
        prev = start.to_solar_date() - timedelta(days=1)
        start = _month_start(prev)
    return None


def _recent_month_day(today: date, month: int, day: int, year_word: str | None, leap: bool) -> date | None:
    """The most recent lunar *month*-*day* not after *today*; 去年/前年 count lunar years back."""
    lunar_year = LunarDate.from_solar_date(today.year, today.month, today.day).year
    if year_word in ("去年", "前年"):
        return _solar(lunar_year - (1 if year_word == "去年" else 2), month, day, leap)
    for year in (lunar_year, lunar_year - 1):
        cand = _solar(year, month, day, leap)
        if cand is not None and (cand <= today or year_word == "今年"):
            return cand
    return None


_RE_SHIFT = re.compile(r"(?:节)?\s*(前|后)\s*(\d|[一二两三四五六七八九])\s*(?:日|天)")


def read_lunar(text: str, today: date) -> LunarDay | None:
    """The lunar day named in normalized *text* and its solar date (None when no lunar day is named)."""
    m = _RE_MONTH_DAY.search(text)
    if m:
        raw_month = m.group("month") or "正"  # 大年初二 = 正月初二
        month = _MONTH_WORDS.get(raw_month) or int(raw_month)
        day = _day_number(m.group("day"))
        lunar_word = m.group("day").startswith(("初", "廿")) or raw_month in _MONTH_WORDS
        if day is not None and 1 <= month <= 12 and (m.group("mark") or lunar_word or m.group("leap")):
            solar = _recent_month_day(today, month, day, m.group("year"), bool(m.group("leap")))
            return LunarDay(month, day, solar, explicit=bool(m.group("mark") or lunar_word))
    f = _RE_FESTIVAL.search(text)
    if f:
        month, day = _FESTIVALS[f.group(0)]
        solar = _recent_month_day(today, month, day, None, False)
        shift = _RE_SHIFT.match(text, f.end())  # 中秋前一日, 端午后两天
        if solar is not None and shift:
            word = shift.group(2)
            n = int(word) if word.isdigit() else {"两": 2, **_CN_DIGITS}.get(word, 1)
            solar += timedelta(days=n * (-1 if shift.group(1) == "前" else 1))
        return LunarDay(month, day, solar, explicit=True)
    m = _RE_DAY.search(text) or _RE_MARKED_DAY.search(text)
    if m:
        day = _day_number(m.group("day"))
        if day is not None:
            return LunarDay(None, day, _recent_day(today, day), explicit=True)
    return None
