"""Staff reminders: claims due for review within one working day, complaints near their answer limit.

:func:`staff_due_summary` feeds the console's dashboard (``GET /staff/api/notices/due-summary``); the
periodic ``notices.staff_digest`` job sends it once per working day (from 09:00) to the staff
recipients in the settings (``CS_NOTICES__STAFF_OPENIDS``, ``CS_NOTICES__STAFF_PHONES``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.calendar.service import SHANGHAI, WorkingCalendar, local_date
from backend.claims.models import Claim
from backend.complaints.models import Complaint
from backend.db import session_scope
from backend.hooks import JobContext
from backend.outbox import OPEN_CLAIM_STATES, Recipient, enqueue_notice

STAFF_DIGEST_INTERVAL_S = 1800.0
DIGEST_HOUR = 9
COMPLAINT_WARN_WORKING_DAYS = 2  # "near the limit": its answer is due within this many working days
STAFF_PHONE_PURPOSE = "notices.staff_phone"


@dataclass(frozen=True)
class DueSummary:
    """What falls due: claim case numbers and complaint numbers."""

    claims: list[str] = field(default_factory=list)
    complaints: list[str] = field(default_factory=list)


def staff_due_summary(session: Session, *, calendar: WorkingCalendar, now: dt.datetime) -> DueSummary:
    """Open claims whose deadline falls by the next working day; complaints whose answer is due
    within two working days (overdue ones included)."""
    today = local_date(now)
    by_tomorrow = calendar.add_working_days(today, 1).date
    claims = session.scalars(select(Claim.case_no).where(
        Claim.state.in_(sorted(OPEN_CLAIM_STATES)), Claim.deadline_date.is_not(None),
        Claim.deadline_date <= by_tomorrow).order_by(Claim.deadline_date, Claim.id).limit(500))
    warn = calendar.add_working_days(today, COMPLAINT_WARN_WORKING_DAYS).date
    complaints = session.scalars(select(Complaint.complaint_no).where(
        Complaint.state.in_(("received", "investigating")), Complaint.resolution_due_date <= warn)
        .order_by(Complaint.resolution_due_date, Complaint.id).limit(500))
    return DueSummary(claims=list(claims), complaints=list(complaints))


def run_staff_digest(ctx: JobContext) -> int:
    """Once per working day from 09:00: the summary to each staff recipient; how many notices."""
    now = ctx.now()
    local = now.astimezone(SHANGHAI)
    if local.hour < DIGEST_HOUR or not ctx.working_calendar().is_working_day(local.date()):
        return 0
    cfg = ctx.settings.notices
    recipients = [Recipient(openid=o, app="official_account") for o in cfg.staff_openids]
    recipients += [Recipient(phone_enc=ctx.cipher.encrypt(p, purpose=STAFF_PHONE_PURPOSE),
                             phone_purpose=STAFF_PHONE_PURPOSE) for p in cfg.staff_phones]
    if not recipients:
        return 0
    with session_scope(ctx.sessions) as session:
        summary = staff_due_summary(session, calendar=ctx.working_calendar(), now=now)
        if not summary.claims and not summary.complaints:
            return 0
        params = {"claims": len(summary.claims), "complaints": len(summary.complaints)}
        for i, recipient in enumerate(recipients):
            enqueue_notice(session, key=f"staff:{i}:{local.date().isoformat()}", kind="staff_due",
                           subject_type="staff", subject_id=i, params=params, recipient=recipient, now=now,
                           urgent=False)
    return len(recipients)
