"""The second approver's step from the console's chat view (issue 10): a claim amount above the
configured limit waits for another person (``backend.claims.approvals``); a supervisor in the chat
confirms it (typing the amount again) or sends it back with a reason.

The rule is the claims domain's: :func:`approvals.confirm_approval` / :func:`approvals.decline_approval`
refuse the proposer, a role that may not approve, a different amount and a claim changed since the
proposal; this module only adds the console's side: the claim must be the chat's customer's, the role
must move claims at all (A-02), every outcome and refusal is audited (``handoff.claim_approval``, A-04)
and the decision is published as ``handoff.claim_moved`` after commit so the proposer's panel updates.
Services never commit: a refusal's audit row is left in the session for the route to commit (the
domain's own changes are undone by a savepoint first).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import redis
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.calendar.service import WorkingCalendar
from backend.claims import approvals
from backend.claims.models import Claim
from backend.claims.roles import CLAIM_MOVERS, may_move_claims
from backend.claims.workflow import ApprovalRefused
from backend.errors import Forbidden, ServiceError
from backend.handoff.actions import customer_claim
from backend.handoff.effects import emit
from backend.handoff.models import HandoffRequest
from backend.security.crypto import FieldCipher
from backend.staff.deps import StaffPrincipal

ACTION = "handoff.claim_approval"
Outcome = Literal["done", "declined"]


@dataclass(frozen=True)
class Decision:
    """The second approver's answer: ``confirm`` with the amount typed again, or ``decline`` with a reason."""

    kind: Literal["confirm", "decline"]
    approval_id: int
    amount_fen: int | None = None
    reason: str | None = None
    expected_version: int | None = None


def _audit(session: Session, row: HandoffRequest, staff: StaffPrincipal, claim_id: int, decision: Decision,
           result: str, now: dt.datetime) -> None:
    record_event(session, actor=staff.username, action=ACTION, object_type="claim", object_id=claim_id,
                 field="approved_amount_fen", ip=staff.ip, at=now, result=result,
                 purpose=f"handoff:{row.id} approval:{decision.approval_id} {decision.kind}")


def decide_from_chat(session: Session, *, row: HandoffRequest, staff: StaffPrincipal, claim_id: int,
                     decision: Decision, cipher: FieldCipher, calendar: WorkingCalendar, now: dt.datetime,
                     client: redis.Redis | None = None) -> tuple[Claim, Outcome]:
    """Confirm or decline the pending amount on the chat's customer's claim; returns the claim and
    ``done`` (approved) or ``declined`` (stays under review). Refusals raise after their audit row."""
    claim = customer_claim(session, row, claim_id)
    if not may_move_claims(staff.role):
        _audit(session, row, staff, claim.id, decision, "refused: forbidden", now)
        raise Forbidden("forbidden", "您的岗位不能复核理赔金额，请交给理赔专员或主管",
                        detail={"allowed_roles": sorted(CLAIM_MOVERS)})
    try:
        with session.begin_nested():  # a refusal leaves none of the domain's changes behind
            if decision.kind == "confirm":
                approvals.confirm_approval(
                    session, cipher=cipher, calendar=calendar, claim_id=claim.id,
                    approval_id=decision.approval_id, amount_fen=decision.amount_fen or 0,
                    actor=staff.username, role=staff.role, ip=staff.ip,
                    expected_version=decision.expected_version, now=now)
            else:
                approvals.decline_approval(
                    session, cipher=cipher, claim_id=claim.id, approval_id=decision.approval_id,
                    reason=decision.reason or "", actor=staff.username, ip=staff.ip, now=now)
    except ServiceError as exc:
        _audit(session, row, staff, claim.id, decision, f"refused: {exc.code}", now)
        if isinstance(exc, ApprovalRefused):  # the claims domain's own record, as its staff API keeps
            approvals.record_refusal(session, claim_id=claim.id, actor=staff.username, ip=staff.ip,
                                     error=exc, now=now)
        raise
    outcome: Outcome = "done" if decision.kind == "confirm" else "declined"
    _audit(session, row, staff, claim.id, decision, "ok", now)
    emit(session, client, "handoff.claim_moved",
         {"handoff_id": row.id, "claim_id": claim.id, "to": claim.state, "outcome": outcome})
    return claim, outcome
