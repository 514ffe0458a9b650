"""A claim's current deadline, from the service standards it was reported under.

Which deadline is current:
- ``reported``: the report acknowledgement, ``online_report_ack_minutes`` after the report (clock time);
- ``approved``: payment, within ``payment_below_threshold_working_days`` of approval when the approved
  amount is below ``payment_threshold_yuan``, else ``payment_at_or_above_threshold_working_days``;
- a complex case in ``materials_pending`` / ``under_review``: the overall limit,
  ``complex_case_max_working_days`` from the report day (the step deadlines are replaced by it);
- ``under_review``: ``materials_review_working_days`` from the day materials became complete;
- otherwise none (waiting for the customer's materials, or finished).
Working-day deadlines fall on a date (Asia/Shanghai) and pass when that day ends.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.calendar.service import WorkingCalendar, end_of_local_day, local_date
from backend.claims.models import Claim
from backend.claims.states import ClaimState
from backend.products.schemas import Product

STANDARD_KEYS = (
    "online_report_ack_minutes",
    "materials_review_working_days",
    "payment_threshold_yuan",
    "payment_below_threshold_working_days",
    "payment_at_or_above_threshold_working_days",
    "complex_case_max_working_days",
    "progress_notice_every_working_days",
    "followup_after_close_days",
)


def standards_snapshot(product: Product) -> dict[str, Any]:
    """The service standards a new claim keeps for its whole life."""
    std = product.service_standards
    return {key: int(getattr(std, key)) for key in STANDARD_KEYS}


def payment_working_days(standards: dict[str, Any], approved_amount_fen: int) -> int:
    """Working days allowed for payment of this approved amount."""
    if approved_amount_fen < int(standards["payment_threshold_yuan"]) * 100:
        return int(standards["payment_below_threshold_working_days"])
    return int(standards["payment_at_or_above_threshold_working_days"])


def _clear(claim: Claim) -> None:
    claim.deadline_kind = None
    claim.deadline_date = None
    claim.deadline_provisional = False
    claim.due_at = None
    claim.deadline_base = None
    claim.deadline_working_days = None


def _working(claim: Claim, calendar: WorkingCalendar, kind: str, base: dt.date, n: int) -> None:
    deadline = calendar.add_working_days(base, n)
    claim.deadline_kind = kind
    claim.deadline_date = deadline.date
    claim.deadline_provisional = deadline.provisional
    claim.due_at = end_of_local_day(deadline.date)
    claim.deadline_base = base
    claim.deadline_working_days = n


def refresh_deadline(claim: Claim, calendar: WorkingCalendar) -> None:
    """Set the claim's current deadline from its state, flags and standards."""
    std = claim.standards
    state = ClaimState(claim.state)
    if state is ClaimState.REPORTED:
        _clear(claim)
        due = claim.reported_at + dt.timedelta(minutes=int(std["online_report_ack_minutes"]))
        claim.deadline_kind = "report_ack"
        claim.deadline_date = local_date(due)
        claim.due_at = due
    elif state is ClaimState.APPROVED:
        assert claim.approved_amount_fen is not None and claim.decided_at is not None
        n = payment_working_days(std, claim.approved_amount_fen)
        _working(claim, calendar, "payment", local_date(claim.decided_at), n)
    elif claim.is_complex and state in (ClaimState.MATERIALS_PENDING, ClaimState.UNDER_REVIEW):
        n = int(std["complex_case_max_working_days"])
        _working(claim, calendar, "complex_case", local_date(claim.reported_at), n)
    elif state is ClaimState.UNDER_REVIEW:
        assert claim.review_started_at is not None
        n = int(std["materials_review_working_days"])
        _working(claim, calendar, "materials_review", local_date(claim.review_started_at), n)
    else:
        _clear(claim)


def recompute(claim: Claim, calendar: WorkingCalendar) -> bool:
    """Recompute a working-day deadline from its stored base; True when date or flag changed."""
    if claim.deadline_base is None or claim.deadline_working_days is None:
        return False
    deadline = calendar.add_working_days(claim.deadline_base, claim.deadline_working_days)
    if deadline.date == claim.deadline_date and deadline.provisional == claim.deadline_provisional:
        return False
    claim.deadline_date = deadline.date
    claim.deadline_provisional = deadline.provisional
    claim.due_at = end_of_local_day(deadline.date)
    return True
