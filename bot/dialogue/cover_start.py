"""When the cover starts for someone who turns 60 (the product's minimum age): from the 1st of the
month after the birthday. "十二月一号满60岁" is remembered; a question about when the cover starts,
or whether an accident would be paid, is answered with the day itself (2027年1月1日), and an accident
before it is not covered."""

from __future__ import annotations

import datetime as dt

from bot.dialogue.context import Turn

TOPICS = ("enrollment", "eligibility", "coverage_overview")


def remember(turn: Turn) -> None:
    """Keep the month and day someone turns the minimum age (满60岁), when a message says it."""
    iso = (turn.pred.slots or {}).get("date")
    if not iso or not turn.cue("turn_age_words"):
        return
    try:
        day = dt.date.fromisoformat(str(iso))
    except ValueError:
        return
    turn.state.notes["age_day"] = [day.month, day.day]


def start(turn: Turn) -> tuple[dt.date, dt.date] | None:
    """(the birthday, the first day of cover), the birthday taken within half a year of today."""
    said = turn.state.notes.get("age_day")
    if not said:
        return None
    today = turn.today
    month, day = int(said[0]), int(said[1])
    try:
        birthday = dt.date(today.year, month, day)
    except ValueError:
        return None
    if (birthday - today).days < -183:
        birthday = birthday.replace(year=today.year + 1)
    elif (birthday - today).days > 183:
        birthday = birthday.replace(year=today.year - 1)
    first = (birthday.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return birthday, first


def _say_start(turn: Turn, found: tuple[dt.date, dt.date]) -> None:
    birthday, first = found
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
