"""Staff routes over claims, complaints, home visits and the roster (mounted under ``/staff/api``).

Every read of a record writes one audit record (object type and id); every private field is masked.
Agents read; claims officers, supervisors and admins move claims (A-02).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.calendar.service import WorkingCalendar, local_date
from backend.claims import service as claims
from backend.complaints import home_visits as visits
from backend.complaints import service as complaints
from backend.deps import CatalogDep, CipherDep, DbSession, RuntimeDep
from backend.errors import ServiceError
from backend.roster.service import eligibility
from backend.security.masking import mask_id_number
from backend.staff.deps import Limit, Now, Offset, RowId, StaffPrincipal, require_roles
from backend.staff.models import Role
from backend.staff.schemas import (
    CancelIn,
    ClaimSearchIn,
    ComplaintTransitionIn,
    ComplexIn,
    ContactedIn,
    FollowupIn,
    IdNumberIn,
    MaterialIn,
    NoteIn,
    TransitionIn,
    claim_view,
    complaint_view,
    home_visit_view,
)

router = APIRouter()

_READ = (Role.AGENT, Role.CLAIMS_OFFICER, Role.SUPERVISOR, Role.ADMIN)
_CLAIM_WRITE = (Role.CLAIMS_OFFICER, Role.SUPERVISOR, Role.ADMIN)
Reader = Annotated[StaffPrincipal, Depends(require_roles(*_READ))]
ClaimWriter = Annotated[StaffPrincipal, Depends(require_roles(*_CLAIM_WRITE))]
ServiceWriter = Annotated[StaffPrincipal, Depends(require_roles(*_READ))]
DueWorkingDays = Annotated[int | None, Query(ge=0, le=60)]
DueHours = Annotated[float | None, Query(ge=0, le=720, allow_inf_nan=False)]
MaterialId = Annotated[str, Path(min_length=1, max_length=64)]


def get_calendar(runtime: RuntimeDep) -> WorkingCalendar:
    """The working-day calendar loaded at start-up (loaded on demand if absent)."""
    calendar = runtime.extras.get("calendar")
    if calendar is None:
        calendar = WorkingCalendar.load(runtime.settings.holidays_file)
        runtime.extras["calendar"] = calendar
    return calendar


Calendar = Annotated[WorkingCalendar, Depends(get_calendar)]


def _audit_reads(db: Session, staff: StaffPrincipal, object_type: str, ids: list[int], *,
                 purpose: str, now: dt.datetime) -> None:
    for object_id in ids:
        record_event(db, actor=staff.username, action="read", object_type=object_type,
                     object_id=object_id, purpose=purpose, ip=staff.ip, at=now)


def _claim_detail(db: Session, staff: StaffPrincipal, cipher: Any, claim_id: int, now: dt.datetime,
                  purpose: str = "view") -> dict[str, Any]:
    claim = claims.get_claim(db, claim_id=claim_id)
    history = claims.claim_history(db, claim_id=claim_id)
    _audit_reads(db, staff, "claim", [claim.id], purpose=purpose, now=now)
    return claim_view(claim, cipher=cipher, detail=True, history=history)


# --- claims ---------------------------------------------------------------------------------------


@router.get("/claims")
def claims_list(
    staff: Reader, db: DbSession, cipher: CipherDep, calendar: Calendar, now: Now,
    state: str | None = None, overdue: bool | None = None, due_within_working_days: DueWorkingDays = None,
    limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    """Claims by state / overdue / due soon, most urgent first (masked)."""
    rows = claims.list_claims(db, calendar=calendar, state=state, overdue=overdue,
                              due_within_working_days=due_within_working_days, now=now,
                              limit=limit, offset=offset)
    _audit_reads(db, staff, "claim", [c.id for c in rows], purpose="list", now=now)
    return {"items": [claim_view(c, cipher=cipher) for c in rows], "limit": limit, "offset": offset}


@router.post("/claims/search")
def claims_search(body: ClaimSearchIn, staff: Reader, db: DbSession, cipher: CipherDep,
                  now: Now) -> dict[str, Any]:
    """Claims by the insured's ID number or by case number (the number travels in the body, not the URL)."""
    if body.case_no:
        rows = [claims.get_claim(db, case_no=body.case_no)]
    elif body.id_number:
        rows = claims.find_claims_by_id_number(db, cipher=cipher, id_number=body.id_number)
    else:
        raise ServiceError("search_empty", "请填写身份证号或案件号", status_code=422)
    _audit_reads(db, staff, "claim", [c.id for c in rows], purpose="search", now=now)
    return {"items": [claim_view(c, cipher=cipher) for c in rows]}


@router.get("/claims/{claim_id}")
def claims_get(claim_id: RowId, staff: Reader, db: DbSession, cipher: CipherDep, now: Now) -> dict[str, Any]:
    """One claim with its history, materials checklist and deadline (masked)."""
    return _claim_detail(db, staff, cipher, claim_id, now)


@router.post("/claims/{claim_id}/transition")
def claims_transition(claim_id: RowId, body: TransitionIn, staff: ClaimWriter, db: DbSession,
                      cipher: CipherDep, calendar: Calendar, now: Now) -> dict[str, Any]:
    """Move a claim (409 on a stale ``expected_version`` or an invalid transition)."""
    claims.transition_claim(db, cipher=cipher, calendar=calendar, claim_id=claim_id, to_state=body.to_state,
                            actor=staff.username, reason=body.reason,
                            expected_version=body.expected_version,
                            approved_amount_fen=body.approved_amount_fen, now=now)
    return _claim_detail(db, staff, cipher, claim_id, now, purpose="after_transition")


@router.post("/claims/{claim_id}/materials/{material_id}")
def claims_material(claim_id: RowId, material_id: MaterialId, body: MaterialIn, staff: ClaimWriter,
                    db: DbSession, cipher: CipherDep, calendar: Calendar, now: Now) -> dict[str, Any]:
    """Mark one checklist item received (or missing again)."""
    claims.mark_material(db, cipher=cipher, claim_id=claim_id, material_id=material_id,
                         received=body.received, actor=staff.username, now=now, calendar=calendar)
    return _claim_detail(db, staff, cipher, claim_id, now, purpose="after_material")


@router.post("/claims/{claim_id}/complex")
def claims_complex(claim_id: RowId, body: ComplexIn, staff: ClaimWriter, db: DbSession, cipher: CipherDep,
                   calendar: Calendar, now: Now) -> dict[str, Any]:
    """Set or clear the complex-case flag (with a reason)."""
    claims.set_complex(db, cipher=cipher, calendar=calendar, claim_id=claim_id, complex=body.complex,
                       actor=staff.username, reason=body.reason, now=now,
                       expected_version=body.expected_version)
    return _claim_detail(db, staff, cipher, claim_id, now, purpose="after_complex")


# --- complaints -----------------------------------------------------------------------------------


def _complaint_detail(db: Session, staff: StaffPrincipal, cipher: Any, complaint_id: int,
                      now: dt.datetime, purpose: str = "view") -> dict[str, Any]:
    c = complaints.get_complaint(db, complaint_id=complaint_id)
    history = complaints.complaint_history(db, complaint_id=complaint_id)
    _audit_reads(db, staff, "complaint", [c.id], purpose=purpose, now=now)
    return complaint_view(c, cipher=cipher, detail=True, history=history)


@router.get("/complaints")
def complaints_list(
    staff: Reader, db: DbSession, cipher: CipherDep, now: Now,
    state: str | None = None, overdue: bool | None = None, due_within_hours: DueHours = None,
    category: str | None = None, severity: str | None = None, limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    """Complaints by state / overdue / due soon, most urgent first (masked)."""
    rows = complaints.list_complaints(db, state=state, overdue=overdue, due_within_hours=due_within_hours,
                                      category=category, severity=severity, now=now, limit=limit,
                                      offset=offset)
    _audit_reads(db, staff, "complaint", [c.id for c in rows], purpose="list", now=now)
    return {"items": [complaint_view(c, cipher=cipher) for c in rows], "limit": limit, "offset": offset}


@router.get("/complaints/{complaint_id}")
def complaints_get(complaint_id: RowId, staff: Reader, db: DbSession, cipher: CipherDep,
                   now: Now) -> dict[str, Any]:
    """One complaint with its history (masked)."""
    return _complaint_detail(db, staff, cipher, complaint_id, now)


@router.post("/complaints/{complaint_id}/transition")
def complaints_transition(complaint_id: RowId, body: ComplaintTransitionIn, staff: ServiceWriter,
                          db: DbSession, cipher: CipherDep, now: Now) -> dict[str, Any]:
    """Move a complaint along 受理 → 调查 → 反馈 → 结案."""
    complaints.transition_complaint(db, cipher=cipher, complaint_id=complaint_id, to_state=body.to_state,
                                    actor=staff.username, reason=body.reason, response=body.response,
                                    expected_version=body.expected_version, now=now)
    return _complaint_detail(db, staff, cipher, complaint_id, now, purpose="after_transition")


@router.post("/complaints/{complaint_id}/acknowledge")
def complaints_ack(complaint_id: RowId, body: NoteIn, staff: ServiceWriter, db: DbSession, cipher: CipherDep,
                   now: Now) -> dict[str, Any]:
    """Record that the complainant was told the complaint is being handled."""
    complaints.acknowledge_complaint(db, cipher=cipher, complaint_id=complaint_id, actor=staff.username,
                                     note=body.note, now=now)
    return _complaint_detail(db, staff, cipher, complaint_id, now, purpose="after_ack")


@router.post("/complaints/{complaint_id}/followup")
def complaints_followup(complaint_id: RowId, body: FollowupIn, staff: ServiceWriter, db: DbSession,
                        cipher: CipherDep, now: Now) -> dict[str, Any]:
    """Record the follow-up visit (回访) of a closed complaint."""
    complaints.record_followup(db, cipher=cipher, complaint_id=complaint_id, actor=staff.username,
                               result=body.result, satisfied=body.satisfied, now=now)
    return _complaint_detail(db, staff, cipher, complaint_id, now, purpose="after_followup")


# --- home visits ----------------------------------------------------------------------------------


@router.get("/home-visits")
def home_visits_list(
    staff: Reader, db: DbSession, cipher: CipherDep, now: Now,
    state: str | None = None, overdue: bool | None = None, due_within_hours: DueHours = None,
    limit: Limit = 50, offset: Offset = 0,
) -> dict[str, Any]:
    """Home-visit requests by state / overdue / due soon (masked)."""
    rows = visits.list_home_visits(db, state=state, overdue=overdue, due_within_hours=due_within_hours,
                                   now=now, limit=limit, offset=offset)
    _audit_reads(db, staff, "home_visit", [r.id for r in rows], purpose="list", now=now)
    return {"items": [home_visit_view(r, cipher=cipher) for r in rows], "limit": limit, "offset": offset}


def _visit_done(db: Session, staff: StaffPrincipal, cipher: Any, visit_id: int, now: dt.datetime) -> Any:
    visit = visits.get_home_visit(db, visit_id=visit_id)
    _audit_reads(db, staff, "home_visit", [visit.id], purpose="after_update", now=now)
    return home_visit_view(visit, cipher=cipher)


@router.post("/home-visits/{visit_id}/contacted")
def home_visits_contacted(visit_id: RowId, body: ContactedIn, staff: ServiceWriter, db: DbSession,
                          cipher: CipherDep, now: Now) -> dict[str, Any]:
    """The customer was called about the visit (with the time agreed: confirmation and reminder)."""
    visits.mark_contacted(db, cipher=cipher, visit_id=visit_id, actor=staff.username, note=body.note, now=now,
                          appointment_at=body.appointment_at)
    return _visit_done(db, staff, cipher, visit_id, now)  # type: ignore[no-any-return]


@router.post("/home-visits/{visit_id}/visited")
def home_visits_visited(visit_id: RowId, body: NoteIn, staff: ServiceWriter, db: DbSession,
                        cipher: CipherDep, now: Now) -> dict[str, Any]:
    """The visit took place."""
    visits.mark_visited(db, cipher=cipher, visit_id=visit_id, actor=staff.username, note=body.note, now=now)
    return _visit_done(db, staff, cipher, visit_id, now)  # type: ignore[no-any-return]


@router.post("/home-visits/{visit_id}/cancel")
def home_visits_cancel(visit_id: RowId, body: CancelIn, staff: ServiceWriter, db: DbSession,
                       cipher: CipherDep, now: Now) -> dict[str, Any]:
    """Cancel an open request (with a reason)."""
    visits.cancel_home_visit(db, cipher=cipher, visit_id=visit_id, actor=staff.username, reason=body.reason,
                             now=now)
    return _visit_done(db, staff, cipher, visit_id, now)  # type: ignore[no-any-return]


# --- roster ---------------------------------------------------------------------------------------


@router.post("/roster/lookup")
def roster_lookup(body: IdNumberIn, staff: Reader, db: DbSession, cipher: CipherDep, catalog: CatalogDep,
                  now: Now) -> dict[str, Any]:
    """Whether a person is covered today, by ID number (masked; the number goes in the body)."""
    result = eligibility(db, cipher=cipher, id_number=body.id_number, on=local_date(now),
                         product=catalog.get(None))
    record_event(db, actor=staff.username, action="read", object_type="roster_person",
                 object_id=result.person_id, purpose="eligibility", ip=staff.ip,
                 result="ok" if result.found else "not_found", at=now)
    return {
        "id_number": mask_id_number(body.id_number.strip().upper()), "found": result.found,
        "eligible": result.eligible, "code": result.code, "reason": result.reason,
        "cover_start": result.cover_start, "person_id": result.person_id, "name": result.masked_name,
    }
