"""When the cover starts for someone who turns 60 (the product's minimum age), or whose household
registration moves into the district (迁回潮南): from the 1st of the month after that day.
"十二月一号满60岁" is remembered; a question about when the cover starts,
or whether an accident would be paid, is answered with the day itself (2027年1月1日), and an accident
before it is not covered."""

from __future__ import annotations

import datetime as dt
import re

from bot.dialogue.context import Turn

TOPICS = ("enrollment", "eligibility", "coverage_overview")


# 我1967年3月出世的: the month someone was born, so the month they turn the minimum age
_RE_BORN = re.compile(r"((?:19|20)\d\d)\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*[日号])?"
                      r"[^，,。]{0,3}(?:出世|出生|生的|生)")


_RE_MONTH_ONLY = re.compile(r"(今年|去年|明年)?\s*(\d{1,2})\s*月(?![\d号日])")


def remember(turn: Turn) -> None:
    """Keep the month and day someone turns the minimum age (满60岁, or born in a month said with its
    year), when a message says it."""
    born = _RE_BORN.search(turn.norm)
    if born:
        year = int(born.group(1)) + turn.product.eligibility.min_age
        if turn.today.year - 1 <= year <= turn.today.year + 1 and 1 <= int(born.group(2)) <= 12:
            turn.state.notes["age_day"] = [int(born.group(2)), int(born.group(3) or 0), year]  # 0: day unsaid
        return
    iso = (turn.pred.slots or {}).get("date")
    month = _RE_MONTH_ONLY.search(turn.norm) if not iso and turn.cue("turn_age_words") else None
    if month and 1 <= int(month.group(2)) <= 12:  # 我阿爸今年10月刚满60: the month only
        shift = {"去年": -1, "明年": 1}.get(month.group(1) or "", 0)
        turn.state.notes["age_day"] = [int(month.group(2)), 0, turn.today.year + shift]
        turn.noted.add("age_day")
        return
    if not iso or not (turn.cue("turn_age_words") or birthday_told(turn)):
        return
    try:
        day = dt.date.fromisoformat(str(iso))
    except ValueError:
        return
    turn.state.notes["age_day"] = [day.month, day.day]
    turn.noted.add("age_day")


_RE_MOVED_IN = re.compile(r"(?:迁回|迁入|迁到|迁来|迁过来|迁返|转回|转入)(?:了|来)?([\u4e00-\u9fff]{2,6})")


def moved_in(turn: Turn) -> bool:
    """True when the message says the household registration moved into the district (之前户口在广州
    这个月十号迁回潮南陈店了); the day is kept (the day named, else today)."""
    m = _RE_MOVED_IN.search(turn.norm)
    if m is None:
        return False
    place = m.group(1)
    districts = turn.product.eligibility.household_registration_districts
    if not (any(d[:2] in place for d in districts) or any(t in place for t in turn.extract.towns)):
        return False
    iso = (turn.pred.slots or {}).get("date")
    turn.state.notes["moved_in"] = str(iso) if iso else turn.today.isoformat()
    return True


def birthday_told(turn: Turn) -> bool:
    """我10月18号生日, after turning the minimum age was talked of: the birthday, not an accident's day."""
    return ("生日" in turn.norm and not (turn.pred.slots or {}).get("accident_type")
            and bool(turn.state.last.get("topic") in TOPICS or turn.state.notes.get("age_talk")))


def _next_first(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def start(turn: Turn) -> tuple[dt.date, dt.date] | None:
    """(the birthday or the day the registration moved in, the first day of cover), the birthday
    taken within half a year of today."""
    moved = turn.state.notes.get("moved_in")
    if moved:
        moved_day = dt.date.fromisoformat(str(moved))
        return moved_day, _next_first(moved_day)
    said = turn.state.notes.get("age_day")
    if not said:
        return None
    today = turn.today
    month, day = int(said[0]), int(said[1])
    try:
        birthday = dt.date(int(said[2]) if len(said) > 2 else today.year, month, day or 1)
    except ValueError:
        return None
    if len(said) > 2:  # the year is known (born 1967年3月)
        return birthday, _next_first(birthday)
    if (birthday - today).days < -183:
        birthday = birthday.replace(year=today.year + 1)
    elif (birthday - today).days > 183:
        birthday = birthday.replace(year=today.year - 1)
    return birthday, _next_first(birthday)


def _say_start(turn: Turn, found: tuple[dt.date, dt.date]) -> None:
    birthday, first = found
    if turn.state.notes.get("moved_in"):
        turn.say("cov_start_moved", month=birthday.month, day=birthday.day,
                 district=turn.product.region.district, age=turn.product.eligibility.min_age,
                 start=f"{first.year}年{first.month}月{first.day}日")
        return
    said = turn.state.notes.get("age_day") or []
    if len(said) > 2 and not said[1]:  # born 1967年3月: the month only
        turn.say("cov_start_month", year=birthday.year, month=birthday.month,
                 age=turn.product.eligibility.min_age, start=f"{first.year}年{first.month}月{first.day}日")
        return
    turn.say("cov_start_day", month=birthday.month, day=birthday.day, age=turn.product.eligibility.min_age,
             start=f"{first.year}年{first.month}月{first.day}日")


def after_faq(turn: Turn, topic: str | None) -> None:
    """After the answer about who is covered or how to join: the day this person's cover starts."""
    found = start(turn)
    if found is not None and (topic in TOPICS or turn.cue("cover_start_words")):
        _say_start(turn, found)


def accident_question(turn: Turn) -> bool:
    """"如果伊十二月中跋倒有无得赔" before the cover starts: the day it starts, and not before."""
    found = start(turn)
    if found is None or found[1] <= turn.today or not turn.cue("coverage_words"):
        return False
    _say_start(turn, found)
    first = found[1]
    turn.say("cov_before_start", start=f"{first.year}年{first.month}月{first.day}日")
    return True


def birthday_answer(turn: Turn) -> bool:
    """我10月18号生日 (after 满60 was talked of): the day the cover starts, said at once."""
    found = start(turn) if "age_day" in turn.noted and birthday_told(turn) else None
    if found is None:
        return False
    _say_start(turn, found)
    return True
