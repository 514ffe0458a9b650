"""Start-up of the claims domain: provisional deadlines follow the holiday data just loaded."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar
from backend.claims.service import recompute_provisional_deadlines
from backend.hooks import CalendarHook


def _recompute(session: Session, calendar: WorkingCalendar) -> int:
    return recompute_provisional_deadlines(session, calendar=calendar)


CALENDAR_HOOKS = [CalendarHook(name="claims", unit="个案件", recompute=_recompute)]
