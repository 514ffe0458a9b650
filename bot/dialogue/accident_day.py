"""The accident's day, from what the customer says: relative days (昨暝, 上礼拜三), solar and lunar
dates (初五, 农历十月十五, 九月廿八 asked 农历还是阳历), festivals, corrections (不是初三 是初五), and,
after a death, the earlier day of the accident rather than the day of death."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from bot.dialogue import lunar_answer
from bot.dialogue.context import Turn
from bot.dialogue.extract import LunarDay
from intents.dates import read_date

Put = Callable[[Turn, str, Any], None]
FIX_TAIL = re.compile(r"(?:不是|不对|唔是|唔对|错了)[^是]{0,8}?(?<![不唔])是")  # …不是初三 是|初五


_RE_CLAUSE = re.compile(r"[，,。；;！!？?]+")
_RE_CLAUSE_OR_SPACE = re.compile(r"[，,。；;！!？?\s]+")
_RE_DATE_SPLIT = re.compile(r"[\s，,。；;！!]+|不是|应该是|改成|就是|是")


_RE_DAY_START = re.compile(r"(?=昨天|昨晚|前天|前晚|今天|今早|上个?礼拜|上个?星期"
                           r"|(?<![上个])礼拜|(?<![上个])星期|上个月"
                           r"|(?<!\d)\d{1,2}月|(?<![\d月])\d{1,2}号)")


_RE_FIXED_TO = re.compile(r"(?:不对|不是|讲错了|说错了|搞错了)[啦了呀哦，,。\s]*(?:是|应该是)"
                          r"([^，,。；;\s]+)")


_RE_DENIED = re.compile(r"(?:不是|唔是)([^，,。；;是]{1,8})")
_RE_DAY_WORD = re.compile(r"[号日天月初廿\d]|礼拜|星期|昨|前|今")


# 我们这边16号晚上7点 你们那边应该17号早上: a relative abroad gives the day in China's time too
_RE_HOME_TIME = re.compile(r"(?:你们那边|你们那里|你们那|国内|中国时间|北京时间|中国那边|乡下那边|老家那边)"
                           r"(?:是|应该是|应该|就是|系|即是)?")


def _home_day(turn: Turn) -> str | None:
    """The day given in China's time (after 你们那边 / 北京时间) when the message gives two days."""
    m = _RE_HOME_TIME.search(turn.norm)
    if m is None:
        return None
    reading = read_date(turn.norm[m.end():m.end() + 12], turn.today)
    return reading.date.isoformat() if reading.date is not None and not reading.lunar else None


_RE_CN_MONTH_DAY = re.compile(r"([一二三四五六七八九十冬腊正]{1,2})月([一二三四五六七八九十廿初]{1,3})")
_RE_RELATIVE = re.compile(r"今天|今日|昨天|昨日|前天|前日|大前天|大前日|昨晚|前晚")


def _relative_day(turn: Turn) -> str | None:
    m = _RE_RELATIVE.search(turn.norm)
    day = read_date(m.group(0), turn.today, event=True).date if m else None
    return day.isoformat() if day is not None else None


def _lunar_agrees(turn: Turn, iso: str) -> bool:
    """True when a month and day written in Chinese numerals (十月十八) differ from the relative day of
    the same message (前日) but are that very day counted the lunar way."""
    said = _RE_CN_MONTH_DAY.search(turn.plain)
    relative = _relative_day(turn) if said else None
    if not relative or relative == iso:
        return False
    day = dt.date.fromisoformat(iso)
    lunar = LunarDay(day.month, day.day, explicit=True).solar(turn.today) if day.day <= 30 else None
    return lunar is not None and lunar.isoformat() == relative


def _denies_no_day(norm: str) -> bool:
    """True when what the message denies is no day (不是病，他是11月8号跋倒…前天走的: the cause): its
    days are read as told, not as a corrected one."""
    m = _RE_DENIED.search(norm)
    return m is not None and not _RE_DAY_WORD.search(m.group(1))


def _first_date_not_of_leaving(turn: Turn) -> str | None:
    """The first date of the message that is not the day of leaving hospital, if any."""
    discharge = turn.copy.word_pattern("discharge_words")
    for part in _RE_CLAUSE_OR_SPACE.split(turn.norm):  # 是9月6号跋倒的 当天就住进… 出院小结写…: by spaces too
        if part and not discharge.search(part):
            reading = read_date(part, turn.today, event=True)
            if reading.date is not None and not reading.lunar:
                return reading.date.isoformat()
    return None


def last_date(turn: Turn, norm: str) -> str | None:
    """The last date a message names (不是礼拜天 是礼拜六 → Saturday; 农历廿八 就是上礼拜日 → that
    Sunday): a message that corrects itself or gives a day twice means its last one (a day of
    leaving hospital is not the accident's)."""
    fixed = _RE_FIXED_TO.search(norm)  # 哦不对，是礼拜五，礼拜六是去打针: the day right after the "no"
    reading = read_date(fixed.group(1), turn.today) if fixed else None
    if reading is not None and reading.date is not None and not reading.lunar:
        return reading.date.isoformat()
    discharge = turn.copy.word_pattern("discharge_words")
    # 是大前天 23号 唔是前天: a day denied is never the one meant, even said last
    norm = _RE_DENIED.sub(lambda m: " " if _RE_DAY_WORD.search(m.group(1)) else m.group(0), norm)
    for part in reversed([p for p in _RE_DATE_SPLIT.split(norm) if p and not discharge.search(p)]):
        reading = read_date(part, turn.today)
        if reading.date is not None and not reading.lunar:
            return reading.date.isoformat()
    return None


_RE_LUNAR_CHARS = re.compile(r"[廿卅]")
_RE_BARE_WEEKDAY = re.compile(r"(?<![上这本个])(?:周|星期|礼拜)[一二三四五六日天1-7]")
_RE_WEEK_SAID = re.compile(r"(?:上|这|本|下)(?:个)?(?:周|星期|礼拜)")


def _same_week(turn: Turn, notes: dict[str, Any], iso: str) -> str:
    """唔是礼拜三，是礼拜二 after 上礼拜三: the weekday of the week said before, not of this week."""
    told = notes.get("date")
    if not told or not _RE_BARE_WEEKDAY.search(turn.norm) or _RE_WEEK_SAID.search(turn.norm):
        return iso
    old, new = dt.date.fromisoformat(str(told)), dt.date.fromisoformat(iso)
    moved = old - dt.timedelta(days=old.weekday()) + dt.timedelta(days=new.weekday())
    return moved.isoformat() if moved <= turn.today else iso


def remember(turn: Turn, notes: dict[str, Any], slots: dict[str, Any], corrected: bool, *, put: Put,
             telling: bool, death: bool, describes: bool) -> None:
    """The accident's day from this message into ``notes`` (through ``put``): ``telling``, an
    accident is being told; ``death``, someone died; ``describes``, this message tells the accident."""
    if _settles_pending(turn, notes, slots, put):
        return
    iso = slots.get("date")
    lunar_won = False  # the accident's day is the lunar one named (shown with its lunar name)
    if not iso and "date" not in notes and telling and not turn.asks and not (
            turn.cue("correction_words") or turn.cue("told_before_words")):  # 头先讲错了: of the talk
        # 今早煲粥 锅翻了: in a report under way, a bare "today" word is the accident's day too
        day = read_date(turn.norm, turn.today, event=True).date
        iso = day.isoformat() if day is not None else None
    if iso:
        iso = _home_day(turn) or iso
        if _lunar_agrees(turn, str(iso)):  # 前日 十月十八: the day written the lunar way, said twice
            iso, lunar_won = _relative_day(turn), True
    if iso and turn.cue("discharge_words") and not corrected:  # 昨天出院: not the day of the accident
        iso = _first_date_not_of_leaving(turn)  # 上礼拜三跋倒…昨日出院: the day told with the fall
    if iso and (turn.fact("corrected") or turn.cue("correction_words")) and not _denies_no_day(turn.norm):
        iso = last_date(turn, turn.norm) or iso  # 不是礼拜天 是礼拜六: the day it was corrected to
        iso = _same_week(turn, notes, str(iso))
    elif iso and death:
        # 礼拜五跋倒 昨天去世了: the accident is the earlier day, not the death's
        parts = _RE_DAY_START.split(turn.norm)
        days = [d for d in (read_date(p, turn.today).date for p in parts) if d]
        named = turn.extract.lunar(turn.plain) if _RE_LUNAR_CHARS.search(turn.plain) else None
        lunar_day = named.solar(_lunar_today(turn)) if named is not None else None
        if lunar_day is not None:  # 上个月廿三跋倒 … 前日走的: the lunar day is the other one
            days = [*(days or [dt.date.fromisoformat(str(iso))]), lunar_day]
        iso = min(days).isoformat() if len(days) > 1 else iso
        lunar_won = lunar_day is not None and iso == lunar_day.isoformat()
    lunar_chars = bool(_RE_LUNAR_CHARS.search(turn.plain))  # 九月廿八: written the lunar way
    said_lunar = bool(turn.fact("lunar_date")) or turn.cue("lunar_words") or lunar_chars
    fixed = FIX_TAIL.search(turn.norm) if corrected else None  # 唔是初三 是初五: the day after 是
    lunar = (fixed and turn.extract.lunar(turn.norm[fixed.end():])) or (
        turn.extract.lunar(turn.norm) if said_lunar else None)
    if lunar is not None and not lunar.explicit and turn.cue("lunar_words") and not turn.cue("solar_words"):
        lunar = dataclasses.replace(lunar, explicit=True)  # 九月廿八那天，农历: 农历 said after the day
    if lunar is not None and lunar_chars and not lunar.explicit and lunar.month is not None \
            and not (turn.fact("corrected") or turn.cue("correction_words")):
        iso = None  # not the solar 9月28 the slot read: 农历还是阳历 is asked
    if lunar is not None and lunar.explicit and len(turn.norm) <= 8:
        corrected = True  # 农历廿八啦: a lunar day said on its own sets the day told before
    if lunar is not None and lunar.month is None and not iso:
        iso = last_date(turn, turn.norm)  # 农历廿八 就是上礼拜日: the solar day said with it
    if lunar is not None and lunar.explicit and lunar.month is not None:
        iso = None  # 农历十月廿日: the lunar day, not the solar 10月20日 the slot read
        if notes.get("date"):
            told = dt.date.fromisoformat(str(notes["date"]))  # 十月廿日 taken as solar, then 农历十月廿日
            if lunar.day == told.day and lunar.month == told.month:
                corrected = True
                turn.noted.add("date_told")  # a correction of the report's date too
    # 昨日过身了, then 农历十月十五跋倒: after a death, an earlier day told with the accident is its day
    earlier = bool(notes.get("date")) and death and describes
    assumed = bool(notes.get("date_assumed"))  # today, taken while someone was hurt now: a day said wins
    if iso and (corrected or assumed or "date" not in notes or (earlier and str(iso) < str(notes["date"]))):
        try:
            if dt.date.fromisoformat(str(iso)) <= turn.today:
                if (earlier and not corrected and "date" in notes) or assumed:
                    turn.noted.add("date_told")  # the report's day too, if it started with the death's
                put(turn, "date", str(iso))
                notes.pop("date_assumed", None)
                notes.pop("date_lunar", None)
                notes.pop("lunar_pending", None)
                if lunar_won:
                    notes["date_lunar"] = True
                return
        except ValueError:
            pass
    festival = turn.fact("lunar_gregorian") if said_lunar and lunar is None else None
    if festival and turn.cue("festival_words") and (corrected or "date" not in notes) \
            and dt.date.fromisoformat(str(festival)) <= turn.today:  # 中秋前一日: the festival's solar day
        put(turn, "date", str(festival))
        notes["date_lunar"] = True
        notes.pop("lunar_pending", None)
        return
    if said_lunar and (corrected or "date" not in notes or earlier):
        if lunar is not None and (lunar.explicit or lunar.month is None):
            # 是农历初五, 初三那天: the latest lunar 初五 (this lunar month or the last); a day said as
            # 初N with no month is only ever a lunar day
            day = lunar.solar(_lunar_today(turn))
            if day is not None and (corrected or "date" not in notes or day.isoformat() < str(notes["date"])):
                if earlier and not corrected and "date" in notes:
                    turn.noted.add("date_told")
                put(turn, "date", day.isoformat())
                notes["date_lunar"] = True
                notes.pop("lunar_pending", None)
        elif lunar is not None and describes:
            notes["lunar_pending"] = [lunar.month, lunar.day]


def _settles_pending(turn: Turn, notes: dict[str, Any], slots: dict[str, Any], put: Put) -> bool:
    """是农历 / 阳历的 said on its own after a day written the lunar way (十月廿二) was kept pending: the
    day it becomes (the question 农历还是阳历 is not asked then). True when it did."""
    pending = notes.get("lunar_pending")
    lunar, solar = turn.cue("lunar_words"), turn.cue("solar_words")
    told = notes.get("date")
    if not pending and told and lunar and not solar and not notes.get("date_lunar") \
            and not slots.get("date") and len(turn.norm) <= 8 and not _RE_LUNAR_CHARS.search(turn.plain):
        # 十月十五跋倒 … then 是农历 on its own: the day told was the lunar one
        day = dt.date.fromisoformat(str(told))
        lunar_day = LunarDay(day.month, day.day, explicit=True) if day.day <= 30 else None
        found = lunar_day.solar(_lunar_today(turn)) if lunar_day is not None else None
        if found is None:
            return False
        turn.noted.add("date_told")
        put(turn, "date", found.isoformat())
        notes["date_lunar"] = True
        return True
    if not pending or "date" in notes or slots.get("date") or lunar == solar \
            or _RE_LUNAR_CHARS.search(turn.plain):
        return False
    month, day = pending
    found = LunarDay(month, day, explicit=True).solar(_lunar_today(turn)) if lunar \
        else lunar_answer.latest_solar(turn.today, month, day)
    if found is None:
        return False
    put(turn, "date", found.isoformat())
    notes.pop("lunar_pending", None)
    if lunar:
        notes["date_lunar"] = True
    return True


def _lunar_today(turn: Turn) -> dt.date:
    """The day a lunar date is counted back from: a year earlier after 去年 (去年农历八月初十)."""
    if "去年" not in turn.norm:
        return turn.today
    try:
        return turn.today.replace(year=turn.today.year - 1)
    except ValueError:  # 29 February
        return turn.today - dt.timedelta(days=365)
