"""Claims: the state machine in one place (:func:`apply_transition`), the complex flag, history
events, optimistic locking, and the frozen rule (D-05).

A claim that has been closed or withdrawn (``closed_at`` set) is FROZEN: it is kept for the legal
retention period (``records_retention_years``) read-only — no transition, no material, no bank
account, no attachment — and then anonymised by the retention job (``backend.privacy.retention``).

Money has two controls here: a claim is approved only with an amount checked against the product
(a ``ClaimApproval``, made by ``backend.claims.approvals``), and it is marked paid only by someone other
than who set that amount (four-eyes, :func:`ensure_second_person_pays`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from backend.calendar.service import WorkingCalendar
from backend.claims import validation as v
from backend.claims.deadlines import refresh_deadline
from backend.claims.models import PURPOSE_REPORTER_PHONE, Claim, ClaimApproval, ClaimEvent
from backend.claims.queries import get_claim
from backend.claims.states import (
    OPEN_STATES,
    REASON_REQUIRED,
    TRANSITIONS,
    ClaimState,
    allowed_targets,
    label,
)
from backend.db import utcnow
from backend.errors import Conflict, ServiceError
from backend.outbox import notify_claim_change
from backend.privacy.freetext import seal, set_free_text
from backend.security.crypto import FieldCipher


class ApprovalRefused(ServiceError):
    """An internal control refused a staff member (amount over the product, no second person...);
    the API records the refusal in the audit log before answering."""


def approver_of(session: Session, claim: Claim) -> str | None:
    """Who set the approved amount: the proposer of the applied approval (for claims approved before
    approvals were recorded, the actor of the transition to approved)."""
    proposer = session.scalar(
        select(ClaimApproval.proposed_by).where(ClaimApproval.claim_id == claim.id,
                                                ClaimApproval.status == "approved")
        .order_by(ClaimApproval.id.desc()).limit(1))
    if proposer is not None:
        return proposer
    return session.scalar(
        select(ClaimEvent.actor).where(ClaimEvent.claim_id == claim.id, ClaimEvent.kind == "transition",
                                       ClaimEvent.to_state == ClaimState.APPROVED.value)
        .order_by(ClaimEvent.id.desc()).limit(1))


def ensure_second_person_pays(session: Session, claim: Claim, actor: str) -> None:
    """Four-eyes on payment: whoever set the approved amount does not also mark it paid."""
    if approver_of(session, claim) == actor:
        raise ApprovalRefused(
            "second_person_required", "付款要由另一位同事确认：核定金额的人不能自己标记已付款",
            detail={"claim_id": claim.id}, status_code=403)


def ensure_not_frozen(claim: Claim) -> None:
    """Conflict("record_frozen") for a closed/withdrawn (or anonymised) claim: it is read-only."""
    if claim.closed_at is not None or claim.anonymised_at is not None:
        raise Conflict(
            "record_frozen",
            "这个案件已经办结，资料只保存备查，不能再修改",
            detail={"claim_id": claim.id, "state": claim.state,
                    "anonymised": claim.anonymised_at is not None},
        )


def check_version(claim: Claim, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != claim.version:
        raise Conflict(
            "version_conflict",
            "这个案件刚被别人改过，请刷新后再操作",
            detail={"expected_version": expected_version, "current_version": claim.version},
        )


def flush_claim(session: Session, claim: Claim) -> None:
    claim_id = claim.id  # read before the flush: a failed flush expires the object
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(
            "version_conflict", "这个案件刚被别人改过，请刷新后再操作", detail={"claim_id": claim_id}
        ) from None


def record_claim_event(
    session: Session,
    claim: Claim,
    *,
    cipher: FieldCipher,
    kind: str,
    actor: str,
    at: dt.datetime,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
) -> ClaimEvent:
    """Add one history entry; its reason (free text) is stored encrypted."""
    event = ClaimEvent(
        claim_id=claim.id,
        claim_version=claim.version,
        at=at,
        actor=actor,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        reason_enc=seal(reason, cipher=cipher, purpose=ClaimEvent.FREE_TEXT["reason"][1]),
    )
    session.add(event)
    session.flush()
    return event


def apply_transition(
    session: Session,
    claim: Claim,
    *,
    cipher: FieldCipher,
    calendar: WorkingCalendar,
    to_state: str,
    actor: str,
    reason: str | None,
    now: dt.datetime,
    approval: ClaimApproval | None = None,
) -> Claim:
    """The one place a claim changes state: check, stamp, deadline, history, and the notice to the
    customer with the progress timer moved on (outbox rows in the same transaction).

    Approving needs ``approval``, an approved amount checked against the product
    (``backend.claims.approvals``); paying needs another person than the one who set it.
    """
    try:
        target = ClaimState(to_state)
    except ValueError:
        raise ServiceError(
            "unknown_state",
            "没有这个案件状态",
            detail={"to": to_state, "allowed": allowed_targets(claim.state)},
        ) from None
    current = ClaimState(claim.state)
    if target not in TRANSITIONS[current]:
        raise Conflict(
            "invalid_transition",
            f"案件现在是「{label(current)}」，不能改为「{label(target)}」",
            detail={"from": current.value, "to": target.value, "allowed": allowed_targets(current)},
        )
    why = v.text(reason, field="reason", label="原因", max_len=1000, required=False)
    back_for_materials = current is ClaimState.UNDER_REVIEW and target is ClaimState.MATERIALS_PENDING
    if why is None and (target in REASON_REQUIRED or back_for_materials):
        raise v.invalid("reason", "请填写原因", "reason_required")
    if target is ClaimState.UNDER_REVIEW:
        missing = [m.material_id for m in claim.materials if not m.received]
        if missing:
            raise Conflict(
                "materials_incomplete", "材料还没有收齐，不能开始审核", detail={"missing": missing}
            )
    if target is ClaimState.APPROVED:
        if approval is None or approval.status != "approved" or approval.claim_id != claim.id:
            raise v.invalid("approved_amount_fen", "同意赔付要先核定金额：请填写金额和理赔事实",
                            "amount_required")
        claim.approved_amount_fen = approval.amount_fen
    elif approval is not None:
        raise v.invalid("approved_amount_fen", "只有同意赔付时才填写金额", "amount_not_expected")
    if target is ClaimState.PAID:
        ensure_second_person_pays(session, claim, actor)
    if current is ClaimState.REPORTED and claim.acknowledged_at is None:
        claim.acknowledged_at = now
    if target is ClaimState.UNDER_REVIEW:
        claim.review_started_at = now
    elif target in (ClaimState.APPROVED, ClaimState.REJECTED):
        claim.decided_at = now
    elif target is ClaimState.PAID:
        claim.paid_at = now
        claim.paid_amount_fen = claim.approved_amount_fen
    elif target in (ClaimState.CLOSED, ClaimState.WITHDRAWN):
        claim.closed_at = now
    claim.state = target.value
    claim.updated_at = now
    refresh_deadline(claim, calendar)
    flush_claim(session, claim)
    record_claim_event(
        session,
        claim,
        cipher=cipher,
        kind="transition",
        actor=actor,
        at=now,
        from_state=current.value,
        to_state=target.value,
        reason=why,
    )
    notify_claim_change(session, claim=claim, calendar=calendar, now=now,
                        phone_purpose=PURPOSE_REPORTER_PHONE)
    return claim


def transition_claim(
    session: Session,
    *,
    cipher: FieldCipher,
    calendar: WorkingCalendar,
    claim_id: int,
    to_state: str,
    actor: str,
    reason: str | None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Claim:
    """Move a claim to ``to_state``; Conflict on an invalid transition or a stale version.

    Approving goes through ``backend.claims.approvals.propose_approval`` (the amount checked against
    the product); here it is refused with ``amount_required``.
    """
    claim = get_claim(session, claim_id=claim_id)
    ensure_not_frozen(claim)
    check_version(claim, expected_version)
    return apply_transition(
        session,
        claim,
        cipher=cipher,
        calendar=calendar,
        to_state=to_state,
        actor=v.actor(actor),
        reason=reason,
        now=now or utcnow(),
    )


def set_complex(
    session: Session,
    *,
    cipher: FieldCipher,
    calendar: WorkingCalendar,
    claim_id: int,
    complex: bool,
    actor: str,
    reason: str,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Claim:
    """Set or clear the complex-case flag (with a reason); the deadline follows. No change = no-op."""
    now = now or utcnow()
    who = v.actor(actor)
    why = v.required_text(reason, field="reason", label="原因", max_len=1000)
    claim = get_claim(session, claim_id=claim_id)
    ensure_not_frozen(claim)
    check_version(claim, expected_version)
    if ClaimState(claim.state) not in OPEN_STATES:
        raise Conflict("claim_not_open", "案件已办结，不能再改", detail={"state": claim.state})
    if claim.is_complex == complex:
        return claim
    claim.is_complex = complex
    set_free_text(claim, "complex_reason", why if complex else None, cipher=cipher)
    claim.updated_at = now
    refresh_deadline(claim, calendar)
    flush_claim(session, claim)
    kind = "complex_set" if complex else "complex_unset"
    record_claim_event(session, claim, cipher=cipher, kind=kind, actor=who, at=now, reason=why)
    return claim

