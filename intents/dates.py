"""Dates in normalized text: absolute and relative forms, festivals, and lunar-calendar markers.

A date is what the message states about a day: an accident, a visit, the day papers were handed in.
"Today" words count only for an event (``event=True``: the message reports an accident or a claim);
"到今天" (until now) and opening-hours questions (周六上班吗) are not dates. A part of the day names its
calendar day (今早 = today, 昨晚/昨暝 = yesterday, 前晚 = the day before). A day given in the lunar
calendar (初三, 廿八, 农历三月初五, 中秋) gives no date slot: ``DateReading.lunar`` says so, so the
dialogue can ask 农历还是阳历, and ``DateReading.lunar_solar`` is the solar day it most likely means
(:mod:`intents.lunar`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, timedelta

from intents.lunar import read_lunar

_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
             "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_RE_FULL_DATE = re.compile(r"(?<!\d)(20\d{2}|19\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_RE_MONTH_DAY = re.compile(r"(去年|今年|前年)?(?<![\d农])(\d{1,2})\s*月\s*(\d{1,2})(?:号|日)?(?![\d天个])")
# 3.5号 / 12.29在医院摔倒: a dot date needs a day word or an event word after it (a bare 3.5 is an amount)
_RE_DOT_DATE = re.compile(
    r"(?<![\d.])(\d{1,2})[./](\d{1,2})(?=号|日|那天|那日|晚上|早上|上午|下午|中午|凌晨|当天|在|摔|跌|被|出事|出了|住院|发生)")
_RE_REL_MONTH_DAY = re.compile(r"(上个?月|这个?月|本月)(?:的)?(\d{1,2})\s*[号日]")
_RE_DAY_ONLY = re.compile(r"(?<![\d月.])(\d{1,2})\s*号(?![楼线床房窗口码])")
_RE_DAYS_AGO = re.compile(r"(\d{1,3})\s*(?:天|日)(?:以前|之前|前)")
_RE_WEEKDAY = re.compile(r"(上上|上|这|本)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天1-7])")
# a bare weekday in a question about opening days or visits is not a date (你们周六上班吗)
_RE_GENERIC_WEEKDAY = re.compile(r"^(?:日|天)?[^,.!?，。]{0,3}"
                                 r"(上班|开门|有人|休息|放假|会上门|能上门|方便|营业|办公)")
# "today" words: only a date for an event, never in 到今天 (= until now)
# (a part of the day names its day: 前晚 = the evening of 前天); "3天前晚上" is 3 days ago, not 前晚
_TODAY_WORDS = {"大前天": -3, "大前晚": -3, "前天": -2, "前晚": -2, "昨天": -1, "昨晚": -1, "昨夜": -1,
                "昨早": -1, "昨儿": -1, "今天": 0, "今早": 0, "今晚": 0, "今儿": 0, "刚才": 0, "刚刚": 0,
                "大后天": 3, "明天": 1, "明早": 1, "明晚": 1, "后天": 2}
_TODAY_ORDER = list(_TODAY_WORDS)
_RE_TODAY_WORD = re.compile(r"(?<![天日号年月周期拜])(?:"
                            + "|".join(sorted(_TODAY_WORDS, key=len, reverse=True)) + ")")
_RE_UNTIL_NOW = re.compile(r"(到|至|直到)(今天|今日|现在)")
# fixed solar festivals (month, day); 母亲节 = second Sunday of May, 父亲节 = third Sunday of June
# solar terms people date by (清明: the graves; 冬至, 冬节 in 潮汕): their day moves (4/5 April, 21/22
# December), so it is computed (lunar_python's solar-term tables)
_SOLAR_TERMS = {"清明": "清明", "冬至": "冬至", "冬节": "冬至"}
_FESTIVALS = {"元旦": (1, 1), "五一": (5, 1), "劳动节": (5, 1), "国庆": (10, 1), "七一": (7, 1),
              "八一": (8, 1), "六一": (6, 1), "儿童节": (6, 1), "圣诞": (12, 25), "平安夜": (12, 24)}
_RE_FESTIVAL = re.compile(r"(元旦|五一|劳动节|国庆|七一|八一|六一|儿童节|圣诞|平安夜|母亲节|父亲节"
                          r"|清明|冬至|冬节)"
                          r"(?!前|后|以前|以后|之前|之后|放假|假期|快乐|几号)")
_RE_LUNAR = re.compile(r"农历|阴历|旧历|初[一二三四五六七八九十]|初\d|廿|正月|腊月|除夕|大年|年三十|"
                       r"春节|元宵|端午|中秋|重阳|七夕|中元节|腊八|(?<!\d)\d{1,2}月半|"
                       r"[一二三四五六七八九十冬腊]月(?:初|十|二十)")


# every date form above contains one of these (a cheap test before the dozen searches)
_RE_ANY_DATE_CHAR = re.compile(r"[\d天日号月周礼拜星期今昨前明后刚元五一六七八国圣母父节清"
                               r"初农阴旧腊正除春端中重冬夜晚早廿午]")
# a part of the day said alone in a report (阮老婆早上煮饭被滚水烫到): today, when no day is named
_RE_OTHER_TIME = re.compile(r"上个?月|去年|前几天|几天前|之前|以前|上次|那天|那日|当天"
                            r"|上礼拜|上星期|上周|月|号")
_RE_PART_OF_DAY = re.compile(r"(?<![天日号年月周期拜一二三四五六七\d晚每])(?:早上|上午|中午|下午|早起|早晨)")


_Day = date  # (the field DateReading.date hides the type inside the class)


@dataclass(frozen=True)
class DateReading:
    """The date a message states (or None) and whether a day was given in the lunar calendar."""

    date: date | None
    lunar: bool = False
    lunar_solar: _Day | None = None  # the solar day a lunar one most likely means (latest not after today)


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


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


@functools.lru_cache(maxsize=64)
def solar_term(year: int, term: str) -> date:
    """The day of solar term *term* (清明, 冬至) in *year*."""
    from lunar_python import Lunar

    # a lunar year's table runs from the 冬至 before it: the 冬至 of *year* is in the next one's
    day = Lunar.fromYmd(year + 1 if term == "冬至" else year, 1, 1).getJieQiTable()[term]
    return date(day.getYear(), day.getMonth(), day.getDay())


def _festival(today: date, name: str, last_year: bool = False) -> date | None:
    def on(year: int) -> date:
        if name in _SOLAR_TERMS:
            return solar_term(year, _SOLAR_TERMS[name])
        if name == "母亲节":
            return _nth_sunday(year, 5, 2)
        if name == "父亲节":
            return _nth_sunday(year, 6, 3)
        m, d = _FESTIVALS[name]
        return date(year, m, d)

    cand = on(today.year)
    return on(today.year - 1) if last_year or cand > today else cand


def _weekday(today: date, m: re.Match[str]) -> date | None:
    if m.group(1) is None and _RE_GENERIC_WEEKDAY.search(m.string[m.end():m.end() + 8]):
        return None
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


def _day_only(today: date, d: int) -> date | None:
    dc = _safe_date(today.year, today.month, d)
    if dc is None or dc > today:
        prev = today.replace(day=1) - timedelta(days=1)
        dc = _safe_date(prev.year, prev.month, d)
    return dc


def read_date(text: str, today: date, *, event: bool = True) -> DateReading:
    """The first date expression of normalized *text*, resolved against *today*.

    *event*: the message reports something that happened (an accident, a claim); only then do bare
    "today" words (今天, 刚才) count as the date."""
    if not _RE_ANY_DATE_CHAR.search(text):
        return DateReading(None)
    lunar = bool(_RE_LUNAR.search(text))
    m = _RE_FULL_DATE.search(text)
    if m:
        return DateReading(_safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3))), lunar)
    if lunar:  # 初三, 农历三月初五: no date slot; the caller asks 农历还是阳历, with the solar day we read
        day = read_lunar(text, today)
        return DateReading(None, True, day.solar if day is not None else None)
    m = _RE_MONTH_DAY.search(text)
    if m:
        return DateReading(_month_day(today, int(m.group(2)), int(m.group(3)), m.group(1)))
    m = _RE_DOT_DATE.search(text)
    if m and 1 <= int(m.group(1)) <= 12:
        return DateReading(_month_day(today, int(m.group(1)), int(m.group(2)), None))
    m = _RE_REL_MONTH_DAY.search(text)
    if m:
        first = today.replace(day=1)
        if m.group(1).startswith("上"):
            first = (first - timedelta(days=1)).replace(day=1)
        return DateReading(_safe_date(first.year, first.month, int(m.group(2))))
    m = _RE_FESTIVAL.search(text)
    if m:
        last_year = text[max(0, m.start() - 3):m.start()].endswith(("去年", "去年的"))  # 去年冬至
        return DateReading(_festival(today, m.group(1), last_year))
    rel = _relative_day(text, today, event)
    if rel is not None:
        return DateReading(rel)
    m = _RE_DAYS_AGO.search(text)
    if m:
        return DateReading(today - timedelta(days=int(m.group(1))))
    for m in _RE_WEEKDAY.finditer(text):
        wd = _weekday(today, m)
        if wd is not None:
            return DateReading(wd)
    m = _RE_DAY_ONLY.search(text)
    if m:
        return DateReading(_day_only(today, int(m.group(1))))
    if event and _RE_PART_OF_DAY.search(text) and not _RE_OTHER_TIME.search(text):
        return DateReading(today)
    return DateReading(None)


def _relative_day(text: str, today: date, event: bool) -> date | None:
    text = _RE_UNTIL_NOW.sub(" ", text)
    found = [w for w in _RE_TODAY_WORD.findall(text) if event or _TODAY_WORDS[w] != 0]
    if not found:
        return None
    word = min(found, key=_TODAY_ORDER.index)  # the past first: 今天来报 昨天摔倒的 = yesterday
    return today + timedelta(days=_TODAY_WORDS[word])


def extract_date(text: str, today: date) -> date | None:
    """The first date in normalized *text* (compatibility wrapper of :func:`read_date`)."""
    return read_date(text, today).date
