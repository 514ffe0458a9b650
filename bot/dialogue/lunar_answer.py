"""The answer to "农历还是阳历" about a day said the lunar way (九月廿八): the solar date it becomes."""

from __future__ import annotations

import datetime as dt

from bot.dialogue.base import Outcome
from bot.dialogue.context import Turn
from bot.dialogue.extract import LunarDay
from bot.dialogue.state import FlowFrame


def answer(turn: Turn, frame: FlowFrame) -> Outcome:
    """The answer to 农历还是阳历: 1 lunar, 2 solar; asked twice in vain, the day as written."""
    n = turn.digit(2)
    if n is None:
        n = 1 if turn.cue("lunar_words") else 2 if turn.cue("solar_words") else None
    if n is None:  # asked twice in vain: the day as written (solar), shown at the confirmation
        frame.data["lunar_skips"] = skips = int(frame.data.get("lunar_skips", 0)) + 1
        if skips < 2:
            return "pass"
        n = 2
    month, day = frame.data.pop("lunar_pending")
    turn.state.notes.pop("lunar_pending", None)
    if n == 1:
        solar = LunarDay(month, day, explicit=True).solar(turn.today)
        frame.data["date_lunar"] = True
    else:
        solar = latest_solar(turn.today, month, day)
    if solar is None:
        turn.say("cr_bad_date")
        return "invalid"
    frame.data["date"] = solar.isoformat()
    turn.state.notes["date"] = frame.data["date"]
    return "ok"


def latest_solar(today: dt.date, month: int | None, day: int) -> dt.date | None:
    """The latest solar date with this month and day, not after today."""
    for year in (today.year, today.year - 1):
        try:
            found = dt.date(year, month or today.month, day)
        except ValueError:
            continue
        if found <= today:
            return found
    return None
