"""Start-up of the complaints domain: provisional answer deadlines follow the holiday data just loaded."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar
from backend.complaints.service import recompute_provisional_complaint_deadlines
from backend.hooks import CalendarHook


def _recompute(session: Session, calendar: WorkingCalendar) -> int:
    return recompute_provisional_complaint_deadlines(session, calendar=calendar)


CALENDAR_HOOKS = [CalendarHook(name="complaints", unit="条投诉", recompute=_recompute)]
