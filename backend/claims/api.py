"""Staff routes over claims (``/staff/api/claims``).

Every read of a claim writes one audit record (object type and id, A-04); every private field is
masked (A-03). Case workers read; claims officers, supervisors and admins move claims (A-02).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from backend.audit.service import record_reads
from backend.claims import approvals
from backend.claims import service as claims
from backend.claims.roles import CLAIM_MOVERS
from backend.claims.schemas import (
    ApprovalConfirmIn,
    ApprovalDeclineIn,
    ClaimDetailOut,
    ClaimListOut,
    ClaimSearchIn,
    ClaimSearchOut,
    ComplexIn,
    MaterialIn,
    TransitionIn,
    claim_detail_view,
    claim_view,
)
from backend.claims.workflow import ApprovalRefused
from backend.deps import CalendarDep, CatalogDep, CipherDep, DbSession, Limit, Now, Offset, RowId, RuntimeDep
from backend.errors import ERROR_RESPONSES, ServiceError, error_body
from backend.security.crypto import FieldCipher
from backend.staff.deps import CaseWorker, StaffPrincipal, require_roles

router = APIRouter(prefix="/staff/api", tags=["claims"], responses=ERROR_RESPONSES)

ClaimWriter = Annotated[StaffPrincipal, Depends(require_roles(*sorted(CLAIM_MOVERS)))]
DueWorkingDays = Annotated[int | None, Query(ge=0, le=60)]
MaterialId = Annotated[str, Path(min_length=1, max_length=64)]


def _detail(db: Session, staff: StaffPrincipal, cipher: FieldCipher, claim_id: int, now: dt.datetime,
            purpose: str = "view") -> ClaimDetailOut:
    claim = claims.get_claim(db, claim_id=claim_id)
    history = claims.claim_history(db, claim_id=claim_id)
    record_reads(db, actor=staff.username, object_type="claim", object_ids=[claim.id], purpose=purpose,
                 ip=staff.ip, at=now)
    return claim_detail_view(claim, cipher=cipher, history=history,
                             approvals=approvals.approvals_of(db, claim_id=claim.id))


def _refused(db: Session, staff: StaffPrincipal, claim_id: int, exc: ApprovalRefused, now: dt.datetime,
             action: str = "claim_approval") -> JSONResponse:
    """An internal control said no: audited (the record commits with this answer), then the error."""
    approvals.record_refusal(db, claim_id=claim_id, actor=staff.username, ip=staff.ip, error=exc,
                             action=action, now=now)
    return JSONResponse(error_body(exc.code, exc.message, exc.detail), status_code=exc.status_code)


@router.get("/claims", response_model=ClaimListOut)
def claims_list(
    staff: CaseWorker, db: DbSession, cipher: CipherDep, calendar: CalendarDep, now: Now,
    state: str | None = None, overdue: bool | None = None, due_within_working_days: DueWorkingDays = None,
    limit: Limit = 50, offset: Offset = 0,
) -> ClaimListOut:
    """Claims by state / overdue / due soon, most urgent first (masked)."""
    rows = claims.list_claims(db, calendar=calendar, state=state, overdue=overdue,
                              due_within_working_days=due_within_working_days, now=now,
                              limit=limit, offset=offset)
    record_reads(db, actor=staff.username, object_type="claim", object_ids=[c.id for c in rows],
                 purpose="list", ip=staff.ip, at=now)
    return ClaimListOut(items=[claim_view(c, cipher=cipher) for c in rows], limit=limit, offset=offset)


@router.post("/claims/search", response_model=ClaimSearchOut)
def claims_search(body: ClaimSearchIn, staff: CaseWorker, db: DbSession, cipher: CipherDep,
                  now: Now) -> ClaimSearchOut:
    """Claims by the insured's ID number or by case number (the number travels in the body, not the URL)."""
    if body.case_no:
        rows = [claims.get_claim(db, case_no=body.case_no)]
    elif body.id_number:
        rows = claims.find_claims_by_id_number(db, cipher=cipher, id_number=body.id_number)
    else:
        raise ServiceError("search_empty", "请填写身份证号或案件号", status_code=422)
    record_reads(db, actor=staff.username, object_type="claim", object_ids=[c.id for c in rows],
                 purpose="search", ip=staff.ip, at=now)
    return ClaimSearchOut(items=[claim_view(c, cipher=cipher) for c in rows])


@router.get("/claims/{claim_id}", response_model=ClaimDetailOut)
def claims_get(claim_id: RowId, staff: CaseWorker, db: DbSession, cipher: CipherDep,
               now: Now) -> ClaimDetailOut:
    """One claim with its history, materials checklist and deadline (masked)."""
    return _detail(db, staff, cipher, claim_id, now)


@router.post("/claims/{claim_id}/transition", response_model=ClaimDetailOut,
             responses={202: {"model": ClaimDetailOut, "description": "Amount waits for a second approver"}})
def claims_transition(claim_id: RowId, body: TransitionIn, staff: ClaimWriter, db: DbSession,
                      cipher: CipherDep, calendar: CalendarDep, catalog: CatalogDep, runtime: RuntimeDep,
                      response: Response, now: Now) -> ClaimDetailOut | JSONResponse:
    """Move a claim (409 on a stale ``expected_version`` or an invalid transition).

    ``approved``: with ``approved_amount_fen`` and ``benefit_facts``; the amount is checked against the
    product (and needs a ``reason`` above the computed benefit); above the configured amount it waits
    for a second approver (202, the claim stays under review). ``paid``: not by whoever set the amount.
    """
    try:
        if body.to_state == "approved":
            facts = approvals.BenefitFacts(**(body.benefit_facts.model_dump() if body.benefit_facts else {}))
            out = approvals.propose_approval(
                db, cipher=cipher, calendar=calendar, catalog=catalog,
                second_approval_above_fen=runtime.settings.claims.second_approval_above_yuan * 100,
                claim_id=claim_id, amount_fen=body.approved_amount_fen, facts=facts, reason=body.reason,
                actor=staff.username, ip=staff.ip, expected_version=body.expected_version, now=now)
            if out.approval.status == "pending":
                response.status_code = 202
        else:
            claims.transition_claim(db, cipher=cipher, calendar=calendar, claim_id=claim_id,
                                    to_state=body.to_state, actor=staff.username, reason=body.reason,
                                    expected_version=body.expected_version, now=now)
    except ApprovalRefused as exc:
        action = "claim_approval" if body.to_state == "approved" else "claim_payment"
        return _refused(db, staff, claim_id, exc, now, action)
    return _detail(db, staff, cipher, claim_id, now, purpose="after_transition")


@router.post("/claims/{claim_id}/approvals/{approval_id}/confirm", response_model=ClaimDetailOut)
def claims_approval_confirm(claim_id: RowId, approval_id: RowId, body: ApprovalConfirmIn, staff: ClaimWriter,
                            db: DbSession, cipher: CipherDep, calendar: CalendarDep,
                            now: Now) -> ClaimDetailOut | JSONResponse:
    """Second approver (another claims officer, or a supervisor): confirm a pending amount by typing it
    again; the claim is approved."""
    try:
        approvals.confirm_approval(db, cipher=cipher, calendar=calendar, claim_id=claim_id,
                                   approval_id=approval_id, amount_fen=body.approved_amount_fen,
                                   actor=staff.username, role=staff.role, ip=staff.ip,
                                   expected_version=body.expected_version, now=now)
    except ApprovalRefused as exc:
        return _refused(db, staff, claim_id, exc, now)
    return _detail(db, staff, cipher, claim_id, now, purpose="after_approval")


@router.post("/claims/{claim_id}/approvals/{approval_id}/decline", response_model=ClaimDetailOut)
def claims_approval_decline(claim_id: RowId, approval_id: RowId, body: ApprovalDeclineIn, staff: ClaimWriter,
                            db: DbSession, cipher: CipherDep, now: Now) -> ClaimDetailOut:
    """Send a pending amount back with a reason (the claim stays under review)."""
    approvals.decline_approval(db, cipher=cipher, claim_id=claim_id, approval_id=approval_id,
                               reason=body.reason, actor=staff.username, ip=staff.ip, now=now)
    return _detail(db, staff, cipher, claim_id, now, purpose="after_approval")


@router.post("/claims/{claim_id}/materials/{material_id}", response_model=ClaimDetailOut)
def claims_material(claim_id: RowId, material_id: MaterialId, body: MaterialIn, staff: ClaimWriter,
                    db: DbSession, cipher: CipherDep, calendar: CalendarDep, now: Now) -> ClaimDetailOut:
    """Mark one checklist item received (or missing again)."""
    claims.mark_material(db, cipher=cipher, claim_id=claim_id, material_id=material_id,
                         received=body.received, actor=staff.username, now=now, calendar=calendar)
    return _detail(db, staff, cipher, claim_id, now, purpose="after_material")


@router.post("/claims/{claim_id}/complex", response_model=ClaimDetailOut)
def claims_complex(claim_id: RowId, body: ComplexIn, staff: ClaimWriter, db: DbSession, cipher: CipherDep,
                   calendar: CalendarDep, now: Now) -> ClaimDetailOut:
    """Set or clear the complex-case flag (with a reason)."""
    claims.set_complex(db, cipher=cipher, calendar=calendar, claim_id=claim_id, complex=body.complex,
                       actor=staff.username, reason=body.reason, now=now,
                       expected_version=body.expected_version)
    return _detail(db, staff, cipher, claim_id, now, purpose="after_complex")
