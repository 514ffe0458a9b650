"""At start-up, recompute provisional deadlines with the freshly loaded holiday data."""

from __future__ import annotations

import logging

from backend.calendar.service import WorkingCalendar
from backend.db import session_scope
from backend.runtime import Runtime

log = logging.getLogger(__name__)


def recompute_all(runtime: Runtime, calendar: WorkingCalendar) -> tuple[int, int]:
    """Recompute provisional claim and complaint deadlines in one transaction; the counts changed."""
    from backend.claims.service import recompute_provisional_deadlines
    from backend.complaints.service import recompute_provisional_complaint_deadlines

    with session_scope(runtime.sessions) as session:
        claims = recompute_provisional_deadlines(session, calendar=calendar)
        complaints = recompute_provisional_complaint_deadlines(session, calendar=calendar)
    return claims, complaints


def startup(runtime: Runtime) -> None:
    """Recompute provisional deadlines (the calendar start-up hook ran first)."""
    claims, complaints = recompute_all(runtime, runtime.calendar)
    if claims or complaints:
        log.info("recomputed provisional deadlines: %d claims, %d complaints", claims, complaints)
