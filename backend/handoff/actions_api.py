"""The chat view's case actions (``/api/console/conversations/{id}/...``): the customer's claims with the
moves this staff member's role allows, their complaints with the deadlines, and creating a complaint
or a claim report from the chat, moving a claim, and sending the customer the new number.

Included next to ``backend.handoff.api``'s router. Who may read the chat: ``api._readable`` (A-02);
who may act: the agent who has the chat or a supervisor (``actions.ensure_may_act``); the rest is the
claims and complaints domains' (``backend.handoff.actions``). Refusals are audited and committed
before the error answers (A-04).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.claims import approvals
from backend.claims.models import Claim
from backend.claims.roles import moves_for
from backend.claims.states import REASON_REQUIRED, label
from backend.claims.workflow import ApprovalRefused
from backend.complaints.models import Complaint
from backend.complaints.states import CATEGORY_LABELS, STATE_LABELS
from backend.deps import CalendarDep, CatalogDep, Now, RedisDep, RowId, RuntimeDep
from backend.errors import ERROR_RESPONSES, Forbidden, ServiceError, error_body
from backend.handoff import actions, approval_actions
from backend.handoff.action_schemas import (
    ApprovalConfirmIn,
    ApprovalDecidedOut,
    ApprovalDeclineIn,
    CaseActionsOut,
    ClaimCaseOut,
    ClaimCreatedOut,
    ClaimIn,
    ClaimMovedOut,
    ClaimMoveIn,
    ComplaintCaseOut,
    ComplaintCreatedOut,
    ComplaintIn,
    ConfirmIn,
    MoveOut,
    OptionOut,
    PendingApprovalOut,
    PrefillOut,
)
from backend.handoff.api import Agent, Db, _readable
from backend.handoff.console_views import CASES
from backend.handoff.models import HandoffRequest
from backend.handoff.private_view import may_reveal, private_fields
from backend.handoff.schemas import MessageSentOut
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from backend.staff.deps import StaffPrincipal

router = APIRouter(prefix="/api/console", tags=["console"], responses=ERROR_RESPONSES)


def _pending_out(db: Session, claim: Claim, staff: StaffPrincipal) -> PendingApprovalOut | None:
    a = approvals.pending_approval(db, claim_id=claim.id)
    if a is None:
        return None
    stale = approvals.is_stale(a, claim)
    return PendingApprovalOut(id=a.id, amount_fen=a.amount_fen, computed_fen=a.computed_fen,
                              ceiling_fen=a.ceiling_fen, proposed_by=a.proposed_by, proposed_at=a.proposed_at,
                              stale=stale,
                              may_decide=not stale and approvals.may_decide(a, actor=staff.username,
                                                                            role=staff.role))


def claim_out(db: Session, claim: Claim, staff: StaffPrincipal, cipher: FieldCipher) -> ClaimCaseOut:
    moves = [MoveOut(to=t, label=label(t), needs_reason=t in REASON_REQUIRED, needs_amount=t == "approved")
             for t in moves_for(staff.role, claim)]
    return ClaimCaseOut(id=claim.id, case_no=claim.case_no, claim_type=claim.claim_type, state=claim.state,
                        state_label=label(claim.state), version=claim.version,
                        deadline_date=claim.deadline_date, moves=moves,
                        approved_amount_fen=claim.approved_amount_fen,
                        pending_approval=_pending_out(db, claim, staff),
                        private=private_fields(claim, cipher))


def complaint_out(c: Complaint, cipher: FieldCipher) -> ComplaintCaseOut:
    return ComplaintCaseOut(id=c.id, complaint_no=c.complaint_no, category=c.category,
                            category_label=CATEGORY_LABELS.get(c.category, c.category), state=c.state,
                            state_label=STATE_LABELS.get(c.state, c.state), ack_due_at=c.ack_due_at,
                            resolution_due_date=c.resolution_due_date,
                            resolution_due_provisional=bool(c.resolution_due_provisional),
                            private=private_fields(c, cipher))


def _options(table: dict[str, str]) -> list[OptionOut]:
    return [OptionOut(key=k, label=v) for k, v in table.items()]


def _claim_types(catalog: ProductCatalog) -> list[OptionOut]:
    return [OptionOut(key=k, label=t.label) for k, t in catalog.get(None).claim_types.items()]


def _acting(db: Session, staff: StaffPrincipal, handoff_id: int, action: str,
            now: dt.datetime) -> HandoffRequest:
    """The conversation, when this staff member may read it and act on it (refusals committed)."""
    row = _readable(db, staff, handoff_id)
    try:
        actions.ensure_may_act(db, row, staff, action, now)
    except Forbidden:
        db.commit()  # the refusal stays on record although the request fails
        raise
    return row


@router.get("/conversations/{handoff_id}/cases", response_model=CaseActionsOut)
def console_cases(handoff_id: RowId, staff: Agent, db: Db, runtime: RuntimeDep, catalog: CatalogDep,
                  now: Now) -> CaseActionsOut:
    """The customer's claims (with the moves this role may make) and complaints (with their deadlines),
    the forms' choices and prefill from the chat. The read is audited (A-04)."""
    row = _readable(db, staff, handoff_id)
    record_event(db, actor=staff.username, action="read", object_type="handoff", object_id=row.id,
                 field="cases", purpose="console", ip=staff.ip, at=now)
    claims = list(db.scalars(select(Claim).where(Claim.reporter_openid == row.user_id)
                             .order_by(Claim.id.desc()).limit(CASES)))
    complaints = list(db.scalars(select(Complaint).where(Complaint.openid == row.user_id)
                                 .order_by(Complaint.id.desc()).limit(CASES)))
    said = actions.customer_texts(db, row, cipher=runtime.cipher)
    return CaseActionsOut(
        can_act=actions.may_act(row, staff), can_reveal=may_reveal(staff.role),
        claims=[claim_out(db, c, staff, runtime.cipher) for c in claims],
        complaints=[complaint_out(c, runtime.cipher) for c in complaints],
        complaint_categories=_options(CATEGORY_LABELS), claim_types=_claim_types(catalog),
        accident_types=_options(actions.labels("accident_labels")),
        relations=_options(actions.labels("relation_labels")),
        prefill=PrefillOut(**actions.prefill(said, reason=row.reason)),
        default_disposition=actions.default_disposition(db, row))


@router.post("/conversations/{handoff_id}/complaints", response_model=ComplaintCreatedOut, status_code=201)
def console_file_complaint(handoff_id: RowId, body: ComplaintIn, staff: Agent, db: Db, redis_client: RedisDep,
                           runtime: RuntimeDep, catalog: CatalogDep, calendar: CalendarDep,
                           now: Now) -> ComplaintCreatedOut:
    """File a complaint for the chat's customer (the domain's checks and deadlines: acknowledge within
    24 hours, answer within 15 working days); linked to the customer's openid."""
    row = _acting(db, staff, handoff_id, "handoff.complaint_created", now)
    fields = body.model_dump(exclude={"use_chat_phone"})
    fields["contact_phone"] = actions.phone_or_chat(body.contact_phone, body.use_chat_phone,
                                                    actions.customer_texts(db, row, cipher=runtime.cipher),
                                                    field="contact_phone")
    form = actions.ComplaintForm(**fields)
    c = actions.file_complaint_from_chat(db, row=row, staff=staff, form=form, cipher=runtime.cipher,
                                         catalog=catalog, calendar=calendar, now=now, client=redis_client)
    return ComplaintCreatedOut(complaint=complaint_out(c, runtime.cipher),
                               confirmation=actions.confirmation_text(db, row, "complaint", c.id))


@router.post("/conversations/{handoff_id}/claims", response_model=ClaimCreatedOut, status_code=201)
def console_report_claim(handoff_id: RowId, body: ClaimIn, staff: Agent, db: Db, redis_client: RedisDep,
                         runtime: RuntimeDep, catalog: CatalogDep, calendar: CalendarDep,
                         now: Now) -> ClaimCreatedOut:
    """Report a claim for the chat's customer (the bot's fields and checks; an ID number only with the
    customer's consent, confirmed by the agent and recorded in the consent ledger)."""
    row = _acting(db, staff, handoff_id, "handoff.claim_created", now)
    fields = body.model_dump(exclude={"use_chat_phone"})
    fields["reporter_phone"] = actions.phone_or_chat(body.reporter_phone, body.use_chat_phone,
                                                     actions.customer_texts(db, row, cipher=runtime.cipher),
                                                     field="reporter_phone")
    form = actions.ClaimForm(**fields)
    claim = actions.report_claim_from_chat(db, row=row, staff=staff, form=form, cipher=runtime.cipher,
                                           catalog=catalog, calendar=calendar, now=now, client=redis_client)
    return ClaimCreatedOut(claim=claim_out(db, claim, staff, runtime.cipher),
                           confirmation=actions.confirmation_text(db, row, "claim", claim.id))


@router.post("/conversations/{handoff_id}/claims/{claim_id}/transition", response_model=ClaimMovedOut,
             responses={202: {"model": ClaimMovedOut, "description": "Amount waits for a second approver"}})
def console_move_claim(handoff_id: RowId, claim_id: RowId, body: ClaimMoveIn, staff: Agent, db: Db,
                       redis_client: RedisDep, runtime: RuntimeDep, catalog: CatalogDep,
                       calendar: CalendarDep, response: Response, now: Now) -> ClaimMovedOut | JSONResponse:
    """Move one of the customer's claims, only as this role may (``backend.claims.roles``); approving
    keeps the product's ceiling and the second-approver rule (202 while it waits)."""
    row = _acting(db, staff, handoff_id, "handoff.claim_move", now)
    facts = approvals.BenefitFacts(**body.benefit_facts.model_dump()) if body.benefit_facts else None
    move = actions.Move(to_state=body.to_state, reason=body.reason, expected_version=body.expected_version,
                        approved_amount_fen=body.approved_amount_fen, facts=facts)
    try:
        claim, outcome = actions.move_claim_from_chat(
            db, row=row, staff=staff, claim_id=claim_id, move=move, cipher=runtime.cipher, catalog=catalog,
            calendar=calendar, now=now, client=redis_client,
            second_approval_above_fen=runtime.settings.claims.second_approval_above_yuan * 100)
    except Forbidden:
        db.commit()  # the refused move stays on record
        raise
    except ApprovalRefused as exc:  # an internal control said no: audited, then the error
        action = "claim_approval" if body.to_state == "approved" else "claim_payment"
        approvals.record_refusal(db, claim_id=claim_id, actor=staff.username, ip=staff.ip, error=exc,
                                 action=action, now=now)
        return JSONResponse(error_body(exc.code, exc.message, exc.detail), status_code=exc.status_code)
    if outcome == "pending":
        response.status_code = 202
    db.refresh(claim)
    return ClaimMovedOut(claim=claim_out(db, claim, staff, runtime.cipher), outcome=outcome)


def _decide(db: Session, staff: StaffPrincipal, handoff_id: int, claim_id: int,
            decision: approval_actions.Decision, redis_client: RedisDep, runtime: RuntimeDep,
            calendar: CalendarDep, now: dt.datetime) -> ApprovalDecidedOut:
    row = _acting(db, staff, handoff_id, approval_actions.ACTION, now)
    try:
        claim, outcome = approval_actions.decide_from_chat(
            db, row=row, staff=staff, claim_id=claim_id, decision=decision, cipher=runtime.cipher,
            calendar=calendar, now=now, client=redis_client)
    except ServiceError:
        db.commit()  # the refusal's audit rows stay on record although the request fails
        raise
    db.refresh(claim)
    return ApprovalDecidedOut(claim=claim_out(db, claim, staff, runtime.cipher), outcome=outcome)


@router.post("/conversations/{handoff_id}/claims/{claim_id}/approvals/{approval_id}/confirm",
             response_model=ApprovalDecidedOut)
def console_confirm_approval(handoff_id: RowId, claim_id: RowId, approval_id: RowId, body: ApprovalConfirmIn,
                             staff: Agent, db: Db, redis_client: RedisDep, runtime: RuntimeDep,
                             calendar: CalendarDep, now: Now) -> ApprovalDecidedOut:
    """The second approver confirms the pending amount on the customer's claim, typing it again (the
    claims domain refuses the proposer, another amount, a claim changed since): the claim is approved."""
    decision = approval_actions.Decision("confirm", approval_id, amount_fen=body.approved_amount_fen,
                                         expected_version=body.expected_version)
    return _decide(db, staff, handoff_id, claim_id, decision, redis_client, runtime, calendar, now)


@router.post("/conversations/{handoff_id}/claims/{claim_id}/approvals/{approval_id}/decline",
             response_model=ApprovalDecidedOut)
def console_decline_approval(handoff_id: RowId, claim_id: RowId, approval_id: RowId, body: ApprovalDeclineIn,
                             staff: Agent, db: Db, redis_client: RedisDep, runtime: RuntimeDep,
                             calendar: CalendarDep, now: Now) -> ApprovalDecidedOut:
    """Send the pending amount back with a reason (required): the claim stays under review."""
    decision = approval_actions.Decision("decline", approval_id, reason=body.reason)
    return _decide(db, staff, handoff_id, claim_id, decision, redis_client, runtime, calendar, now)


@router.post("/conversations/{handoff_id}/confirm", response_model=MessageSentOut)
def console_confirm(handoff_id: RowId, body: ConfirmIn, staff: Agent, db: Db, redis_client: RedisDep,
                    runtime: RuntimeDep, now: Now) -> MessageSentOut:
    """Send the customer the confirmation with the new number, as the agent's reply (delivered by the
    job and counted against WeChat's customer-service message quota like every reply)."""
    row = _acting(db, staff, handoff_id, "handoff.confirm", now)
    msg = actions.send_confirmation(db, row=row, staff=staff, kind=body.kind, case_id=body.case_id,
                                    cipher=runtime.cipher, now=now, client=redis_client)
    return MessageSentOut(id=msg.id, delivery=msg.delivery)
