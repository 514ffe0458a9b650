"""Claims: look up, list and history (read-only), and the provisional-deadline recompute."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar, local_date
from backend.claims import validation as v
from backend.claims.deadlines import recompute
from backend.claims.models import PURPOSE_INSURED_ID, PURPOSE_INSURED_NAME, Claim, ClaimEvent
from backend.claims.states import ClaimState
from backend.db import utcnow
from backend.errors import NotFound
from backend.security.crypto import CryptoError, FieldCipher

log = logging.getLogger(__name__)

MAX_PAGE = 200


def get_claim(session: Session, *, claim_id: int | None = None, case_no: str | None = None) -> Claim:
    """One claim by id or case number; NotFound otherwise."""
    if (claim_id is None) == (case_no is None):
        raise ValueError("give exactly one of claim_id and case_no")
    if claim_id is not None:
        claim = session.get(Claim, claim_id)
    else:
        claim = session.scalar(select(Claim).where(Claim.case_no == (case_no or "").strip().upper()))
    if claim is None:
        raise NotFound("claim_not_found", "找不到这个案件，请核对案件号")
    return claim


def find_claims_by_id_number(session: Session, *, cipher: FieldCipher, id_number: str) -> list[Claim]:
    """The claims of the insured person with this ID number (via the blind index), newest first."""
    number = v.id_number(id_number)
    bidx = cipher.blind_index(number, purpose=PURPOSE_INSURED_ID)
    return list(session.scalars(select(Claim).where(Claim.insured_id_bidx == bidx).order_by(Claim.id.desc())))


def insured_name_of(claim: Claim, *, cipher: FieldCipher) -> str | None:
    """The insured's name in clear (None once anonymised or when it cannot be decrypted)."""
    if not claim.insured_name_enc:
        return None
    try:
        return cipher.decrypt(claim.insured_name_enc, purpose=PURPOSE_INSURED_NAME)
    except CryptoError:
        log.warning("claim %s: the insured's name cannot be decrypted", claim.id)
        return None


def claim_for_enquiry(session: Session, *, cipher: FieldCipher, case_no: str, id_number: str) -> Claim:
    """A progress enquiry: the claim only when case number and insured ID number match (else NotFound)."""
    number = v.id_number(id_number)
    try:
        claim = get_claim(session, case_no=case_no)
    except NotFound:
        claim = None
    if claim is None or claim.insured_id_bidx != cipher.blind_index(number, purpose=PURPOSE_INSURED_ID):
        raise NotFound("claim_not_found", "案件号或身份证号不对，请核对后再查")
    return claim


def _filtered(
    query: Select[tuple[Claim]],
    *,
    calendar: WorkingCalendar,
    now: dt.datetime,
    state: str | None,
    overdue: bool | None,
    due_within_working_days: int | None,
) -> Select[tuple[Claim]]:
    if state is not None:
        try:
            query = query.where(Claim.state == ClaimState(state).value)
        except ValueError:
            raise v.invalid("state", "没有这个案件状态", "unknown_state") from None
    if overdue is True:
        query = query.where(Claim.due_at.is_not(None), Claim.due_at < now)
    elif overdue is False:
        query = query.where((Claim.due_at.is_(None)) | (Claim.due_at >= now))
    if due_within_working_days is not None:
        if due_within_working_days < 0:
            raise v.invalid("due_within_working_days", "天数不能是负数")
        limit_day = calendar.add_working_days(local_date(now), due_within_working_days).date
        query = query.where(Claim.due_at >= now, Claim.deadline_date <= limit_day)
    return query


def list_claims(
    session: Session,
    *,
    calendar: WorkingCalendar,
    state: str | None = None,
    overdue: bool | None = None,
    due_within_working_days: int | None = None,
    now: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Claim]:
    """Claims by state / overdue / due within N working days, most urgent first."""
    query = _filtered(
        select(Claim),
        calendar=calendar,
        now=now or utcnow(),
        state=state,
        overdue=overdue,
        due_within_working_days=due_within_working_days,
    )
    query = query.order_by(Claim.due_at.is_(None), Claim.due_at, Claim.id)
    return list(session.scalars(query.limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))))


def claim_history(session: Session, *, claim_id: int) -> list[ClaimEvent]:
    """Every recorded event of a claim, oldest first."""
    get_claim(session, claim_id=claim_id)
    return list(
        session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id))
    )


def recompute_provisional_deadlines(
    session: Session, *, calendar: WorkingCalendar, now: dt.datetime | None = None
) -> int:
    """Recompute provisional working-day deadlines with the current calendar; how many changed."""
    changed = 0
    rows = session.scalars(select(Claim).where(Claim.deadline_provisional.is_(True)).order_by(Claim.id))
    for claim in rows:
        if recompute(claim, calendar):
            claim.updated_at = now or utcnow()
            changed += 1
    session.flush()
    return changed
