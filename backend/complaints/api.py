"""Staff routes over complaints and home-visit requests (``/staff/api/complaints``, ``/home-visits``).

Every read of a record writes one audit record (object type and id, A-04); every private field is
masked (A-03). Case workers read and act on both (A-02).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from backend.audit.service import record_reads
from backend.complaints import home_visits as visits
from backend.complaints import service as complaints
from backend.complaints.schemas import (
    CancelIn,
    ComplaintDetailOut,
    ComplaintListOut,
    ComplaintTransitionIn,
    ContactedIn,
    FollowupIn,
    HomeVisitListOut,
    HomeVisitOut,
    NoteIn,
    complaint_detail_view,
    complaint_view,
    home_visit_view,
)
from backend.deps import CipherDep, DbSession, Limit, Now, Offset, RowId
from backend.errors import ERROR_RESPONSES
from backend.security.crypto import FieldCipher
from backend.staff.deps import CaseWorker, StaffPrincipal

router = APIRouter(prefix="/staff/api", tags=["complaints"], responses=ERROR_RESPONSES)

DueHours = Annotated[float | None, Query(ge=0, le=720, allow_inf_nan=False)]


def _reads(db: Session, staff: StaffPrincipal, object_type: str, ids: list[int], *, purpose: str,
           now: dt.datetime) -> None:
    record_reads(db, actor=staff.username, object_type=object_type, object_ids=ids, purpose=purpose,
                 ip=staff.ip, at=now)


# --- complaints -----------------------------------------------------------------------------------


def _complaint_detail(db: Session, staff: StaffPrincipal, cipher: FieldCipher, complaint_id: int,
                      now: dt.datetime, purpose: str = "view") -> ComplaintDetailOut:
    c = complaints.get_complaint(db, complaint_id=complaint_id)
    history = complaints.complaint_history(db, complaint_id=complaint_id)
    _reads(db, staff, "complaint", [c.id], purpose=purpose, now=now)
    return complaint_detail_view(c, cipher=cipher, history=history)


@router.get("/complaints", response_model=ComplaintListOut)
def complaints_list(
    staff: CaseWorker, db: DbSession, cipher: CipherDep, now: Now,
    state: str | None = None, overdue: bool | None = None, due_within_hours: DueHours = None,
    category: str | None = None, severity: str | None = None, limit: Limit = 50, offset: Offset = 0,
) -> ComplaintListOut:
    """Complaints by state / overdue / due soon, most urgent first (masked)."""
    rows = complaints.list_complaints(db, state=state, overdue=overdue, due_within_hours=due_within_hours,
                                      category=category, severity=severity, now=now, limit=limit,
                                      offset=offset)
    _reads(db, staff, "complaint", [c.id for c in rows], purpose="list", now=now)
    return ComplaintListOut(items=[complaint_view(c, cipher=cipher) for c in rows], limit=limit,
                            offset=offset)


@router.get("/complaints/{complaint_id}", response_model=ComplaintDetailOut)
def complaints_get(complaint_id: RowId, staff: CaseWorker, db: DbSession, cipher: CipherDep,
                   now: Now) -> ComplaintDetailOut:
    """One complaint with its history (masked)."""
    return _complaint_detail(db, staff, cipher, complaint_id, now)


@router.post("/complaints/{complaint_id}/transition", response_model=ComplaintDetailOut)
def complaints_transition(complaint_id: RowId, body: ComplaintTransitionIn, staff: CaseWorker,
                          db: DbSession, cipher: CipherDep, now: Now) -> ComplaintDetailOut:
    """Move a complaint along 受理 → 调查 → 反馈 → 结案."""
    complaints.transition_complaint(db, cipher=cipher, complaint_id=complaint_id, to_state=body.to_state,
                                    actor=staff.username, reason=body.reason, response=body.response,
                                    expected_version=body.expected_version, now=now)
    return _complaint_detail(db, staff, cipher, complaint_id, now, purpose="after_transition")


@router.post("/complaints/{complaint_id}/acknowledge", response_model=ComplaintDetailOut)
def complaints_ack(complaint_id: RowId, body: NoteIn, staff: CaseWorker, db: DbSession, cipher: CipherDep,
                   now: Now) -> ComplaintDetailOut:
    """Record that the complainant was told the complaint is being handled."""
    complaints.acknowledge_complaint(db, cipher=cipher, complaint_id=complaint_id, actor=staff.username,
                                     note=body.note, now=now)
    return _complaint_detail(db, staff, cipher, complaint_id, now, purpose="after_ack")


@router.post("/complaints/{complaint_id}/followup", response_model=ComplaintDetailOut)
def complaints_followup(complaint_id: RowId, body: FollowupIn, staff: CaseWorker, db: DbSession,
                        cipher: CipherDep, now: Now) -> ComplaintDetailOut:
    """Record the follow-up visit (回访) of a closed complaint."""
    complaints.record_followup(db, cipher=cipher, complaint_id=complaint_id, actor=staff.username,
                               result=body.result, satisfied=body.satisfied, now=now)
    return _complaint_detail(db, staff, cipher, complaint_id, now, purpose="after_followup")


# --- home visits ----------------------------------------------------------------------------------


@router.get("/home-visits", response_model=HomeVisitListOut)
def home_visits_list(
    staff: CaseWorker, db: DbSession, cipher: CipherDep, now: Now,
    state: str | None = None, overdue: bool | None = None, due_within_hours: DueHours = None,
    limit: Limit = 50, offset: Offset = 0,
) -> HomeVisitListOut:
    """Home-visit requests by state / overdue / due soon (masked)."""
    rows = visits.list_home_visits(db, state=state, overdue=overdue, due_within_hours=due_within_hours,
                                   now=now, limit=limit, offset=offset)
    _reads(db, staff, "home_visit", [r.id for r in rows], purpose="list", now=now)
    return HomeVisitListOut(items=[home_visit_view(r, cipher=cipher) for r in rows], limit=limit,
                            offset=offset)


def _visit_done(db: Session, staff: StaffPrincipal, cipher: FieldCipher, visit_id: int,
                now: dt.datetime) -> HomeVisitOut:
    visit = visits.get_home_visit(db, visit_id=visit_id)
    _reads(db, staff, "home_visit", [visit.id], purpose="after_update", now=now)
    return home_visit_view(visit, cipher=cipher)


@router.post("/home-visits/{visit_id}/contacted", response_model=HomeVisitOut)
def home_visits_contacted(visit_id: RowId, body: ContactedIn, staff: CaseWorker, db: DbSession,
                          cipher: CipherDep, now: Now) -> HomeVisitOut:
    """The customer was called about the visit (with the time agreed: confirmation and reminder)."""
    visits.mark_contacted(db, cipher=cipher, visit_id=visit_id, actor=staff.username, note=body.note, now=now,
                          appointment_at=body.appointment_at)
    return _visit_done(db, staff, cipher, visit_id, now)


@router.post("/home-visits/{visit_id}/visited", response_model=HomeVisitOut)
def home_visits_visited(visit_id: RowId, body: NoteIn, staff: CaseWorker, db: DbSession,
                        cipher: CipherDep, now: Now) -> HomeVisitOut:
    """The visit took place."""
    visits.mark_visited(db, cipher=cipher, visit_id=visit_id, actor=staff.username, note=body.note, now=now)
    return _visit_done(db, staff, cipher, visit_id, now)


@router.post("/home-visits/{visit_id}/cancel", response_model=HomeVisitOut)
def home_visits_cancel(visit_id: RowId, body: CancelIn, staff: CaseWorker, db: DbSession,
                       cipher: CipherDep, now: Now) -> HomeVisitOut:
    """Cancel an open request (with a reason)."""
    visits.cancel_home_visit(db, cipher=cipher, visit_id=visit_id, actor=staff.username, reason=body.reason,
                             now=now)
    return _visit_done(db, staff, cipher, visit_id, now)
