"""Staff routes over the roster (``/staff/api/roster``): is this person covered? (audited, A-04)."""

from __future__ import annotations

from fastapi import APIRouter

from backend.audit.service import record_event
from backend.calendar.service import local_date
from backend.deps import CatalogDep, CipherDep, DbSession, Now
from backend.errors import ERROR_RESPONSES
from backend.roster.schemas import EligibilityOut, IdNumberIn
from backend.roster.service import eligibility
from backend.security.masking import mask_id_number
from backend.staff.deps import CaseWorker

router = APIRouter(prefix="/staff/api", tags=["roster"], responses=ERROR_RESPONSES)


@router.post("/roster/lookup", response_model=EligibilityOut)
def roster_lookup(body: IdNumberIn, staff: CaseWorker, db: DbSession, cipher: CipherDep, catalog: CatalogDep,
                  now: Now) -> EligibilityOut:
    """Whether a person is covered today, by ID number (masked; the number goes in the body)."""
    result = eligibility(db, cipher=cipher, id_number=body.id_number, on=local_date(now),
                         product=catalog.get(None))
    record_event(db, actor=staff.username, action="read", object_type="roster_person",
                 object_id=result.person_id, purpose="eligibility", ip=staff.ip,
                 result="ok" if result.found else "not_found", at=now)
    return EligibilityOut(
        id_number=mask_id_number(body.id_number.strip().upper()), found=result.found,
        eligible=result.eligible, code=result.code, reason=result.reason,
        cover_start=result.cover_start, person_id=result.person_id, name=result.masked_name,
    )
