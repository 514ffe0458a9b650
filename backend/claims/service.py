"""Claims: report, look up, move through the state machine, materials, deadlines.

Every state change goes through :func:`_apply_transition` (one place: a notification outbox row will
be written there, in the same transaction). Services flush, never commit.

Materials: marking the last missing item of a claim in ``reported`` / ``materials_pending`` moves it
to ``under_review`` automatically (the review clock starts when the materials are complete);
marking an item missing again while ``under_review`` moves it back to ``materials_pending``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from backend.calendar.service import WorkingCalendar, local_date
from backend.claims import validation as v
from backend.claims.deadlines import recompute, refresh_deadline, standards_snapshot
from backend.claims.models import (
    PURPOSE_BANK_ACCOUNT,
    PURPOSE_INSURED_ID,
    PURPOSE_REPORTER_PHONE,
    Claim,
    ClaimEvent,
    ClaimMaterial,
)
from backend.claims.numbers import next_case_number
from backend.claims.states import (
    OPEN_STATES,
    REASON_REQUIRED,
    TRANSITIONS,
    ClaimState,
    allowed_targets,
    label,
)
from backend.db import utcnow
from backend.errors import Conflict, NotFound, ServiceError
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher

MAX_PAGE = 200
_MATERIAL_STATES = (ClaimState.REPORTED, ClaimState.MATERIALS_PENDING, ClaimState.UNDER_REVIEW)


def report_claim(
    session: Session,
    *,
    cipher: FieldCipher,
    catalog: ProductCatalog,
    calendar: WorkingCalendar,
    product_id: str,
    claim_type: str,
    insured_name: str,
    insured_id_number: str,
    reporter_phone: str,
    reporter_relation: str,
    accident_date: dt.date,
    accident_type: str,
    description: str,
    channel: str,
    actor: str,
    place: str | None = None,
    hospital: str | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
    reporter_openid: str | None = None,
    roster_person_id: int | None = None,
) -> Claim:
    """Record a claim report with its materials checklist; a repeated idempotency key returns the first."""
    now = now or utcnow()
    product = catalog.get(product_id)
    if claim_type not in product.claim_types:
        raise ServiceError(
            "unknown_claim_type",
            "没有这种理赔类型，请重新选择",
            detail={"field": "claim_type", "allowed": sorted(product.claim_types)},
        )
    id_number = v.id_number(insured_id_number, field="insured_id_number")
    phone = v.phone_number(reporter_phone, field="reporter_phone")
    fields = {
        "insured_name": v.required_text(
            insured_name, field="insured_name", label="被保险人姓名", max_len=100
        ),
        "reporter_relation": v.required_text(
            reporter_relation, field="reporter_relation", label="与被保险人的关系", max_len=32
        ),
        "accident_type": v.required_text(accident_type, field="accident_type", label="意外类型", max_len=64),
        "description": v.required_text(description, field="description", label="事情经过", max_len=2000),
        "place": v.text(place, field="place", label="出事地点", max_len=200, required=False),
        "hospital": v.text(hospital, field="hospital", label="医院", max_len=200, required=False),
    }
    v.not_future(accident_date, today=local_date(now), field="accident_date", label="出事日期")
    chan = v.channel(channel)
    who = v.actor(actor)
    key = v.text(idempotency_key, field="idempotency_key", label="请求编号", max_len=100, required=False)
    id_bidx = cipher.blind_index(id_number, purpose=PURPOSE_INSURED_ID)
    if key is not None:
        existing = session.scalar(select(Claim).where(Claim.idempotency_key == key))
        if existing is not None:
            return _same_report(existing, id_bidx=id_bidx, product_id=product.id, claim_type=claim_type)
    try:
        with session.begin_nested():
            claim = Claim(
                case_no=next_case_number(session, prefix="LP", at=now),
                product_id=product.id,
                claim_type=claim_type,
                state=ClaimState.REPORTED.value,
                insured_id_enc=cipher.encrypt(id_number, purpose=PURPOSE_INSURED_ID),
                insured_id_bidx=id_bidx,
                roster_person_id=roster_person_id,
                reporter_phone_enc=cipher.encrypt(phone, purpose=PURPOSE_REPORTER_PHONE),
                reporter_phone_bidx=cipher.blind_index(phone, purpose=PURPOSE_REPORTER_PHONE),
                reporter_openid=reporter_openid,
                channel=chan,
                accident_date=accident_date,
                reported_at=now,
                updated_at=now,
                standards=standards_snapshot(product),
                idempotency_key=key,
                is_complex=False,
                **fields,
            )
            claim.materials = [
                ClaimMaterial(material_id=m.id, label=m.label, received=False)
                for m in product.materials_for(claim_type)
            ]
            refresh_deadline(claim, calendar)
            session.add(claim)
            session.flush()
            _record(session, claim, kind="reported", actor=who, to_state=claim.state, at=now)
    except IntegrityError:
        if key is None:
            raise
        existing = session.scalar(select(Claim).where(Claim.idempotency_key == key))
        if existing is None:
            raise
        return _same_report(existing, id_bidx=id_bidx, product_id=product.id, claim_type=claim_type)
    return claim


def _same_report(claim: Claim, *, id_bidx: str, product_id: str, claim_type: str) -> Claim:
    if (claim.insured_id_bidx, claim.product_id, claim.claim_type) != (id_bidx, product_id, claim_type):
        raise Conflict(
            "idempotency_key_reused",
            "这个请求编号已用于另一份报案，请重新提交",
            detail={"field": "idempotency_key"},
        )
    return claim


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


def _check_version(claim: Claim, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != claim.version:
        raise Conflict(
            "version_conflict",
            "这个案件刚被别人改过，请刷新后再操作",
            detail={"expected_version": expected_version, "current_version": claim.version},
        )


def _flush(session: Session, claim: Claim) -> None:
    claim_id = claim.id  # read before the flush: a failed flush expires the object
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(
            "version_conflict", "这个案件刚被别人改过，请刷新后再操作", detail={"claim_id": claim_id}
        ) from None


def _record(
    session: Session,
    claim: Claim,
    *,
    kind: str,
    actor: str,
    at: dt.datetime,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
) -> ClaimEvent:
    event = ClaimEvent(
        claim_id=claim.id,
        claim_version=claim.version,
        at=at,
        actor=actor,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
    )
    session.add(event)
    session.flush()
    return event


def _apply_transition(
    session: Session,
    claim: Claim,
    *,
    calendar: WorkingCalendar,
    to_state: str,
    actor: str,
    reason: str | None,
    now: dt.datetime,
    approved_amount_fen: int | None = None,
) -> Claim:
    """The one place a claim changes state: check, stamp, deadline, history (and later the outbox)."""
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
        if approved_amount_fen is None or approved_amount_fen <= 0:
            raise v.invalid("approved_amount_fen", "请填写核定的赔付金额", "amount_required")
        claim.approved_amount_fen = approved_amount_fen
    elif approved_amount_fen is not None:
        raise v.invalid("approved_amount_fen", "只有同意赔付时才填写金额", "amount_not_expected")
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
    _flush(session, claim)
    _record(
        session,
        claim,
        kind="transition",
        actor=actor,
        at=now,
        from_state=current.value,
        to_state=target.value,
        reason=why,
    )
    return claim


def transition_claim(
    session: Session,
    *,
    calendar: WorkingCalendar,
    claim_id: int,
    to_state: str,
    actor: str,
    reason: str | None,
    expected_version: int | None = None,
    approved_amount_fen: int | None = None,
    now: dt.datetime | None = None,
) -> Claim:
    """Move a claim to ``to_state``; Conflict on an invalid transition or a stale version."""
    claim = get_claim(session, claim_id=claim_id)
    _check_version(claim, expected_version)
    return _apply_transition(
        session,
        claim,
        calendar=calendar,
        to_state=to_state,
        actor=v.actor(actor),
        reason=reason,
        now=now or utcnow(),
        approved_amount_fen=approved_amount_fen,
    )


def set_complex(
    session: Session,
    *,
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
    _check_version(claim, expected_version)
    if ClaimState(claim.state) not in OPEN_STATES:
        raise Conflict("claim_not_open", "案件已办结，不能再改", detail={"state": claim.state})
    if claim.is_complex == complex:
        return claim
    claim.is_complex = complex
    claim.complex_reason = why if complex else None
    claim.updated_at = now
    refresh_deadline(claim, calendar)
    _flush(session, claim)
    _record(session, claim, kind="complex_set" if complex else "complex_unset", actor=who, at=now, reason=why)
    return claim


def mark_material(
    session: Session,
    *,
    claim_id: int,
    material_id: str,
    received: bool,
    actor: str,
    now: dt.datetime | None = None,
    calendar: WorkingCalendar | None = None,
) -> Claim:
    """Mark one checklist item received or missing; complete materials start the review (see module doc)."""
    now = now or utcnow()
    who = v.actor(actor)
    claim = get_claim(session, claim_id=claim_id)
    if ClaimState(claim.state) not in _MATERIAL_STATES:
        raise Conflict("materials_closed", "案件已审核完毕，不能再改材料", detail={"state": claim.state})
    item = next((m for m in claim.materials if m.material_id == material_id), None)
    if item is None:
        raise NotFound(
            "unknown_material",
            "这个案件不需要这项材料",
            detail={"material_id": material_id, "allowed": [m.material_id for m in claim.materials]},
        )
    if item.received == received:
        return claim
    item.received, item.marked_by, item.marked_at = received, who, now
    claim.updated_at = now
    _flush(session, claim)
    _record(
        session,
        claim,
        kind="material",
        actor=who,
        at=now,
        reason=f"{item.label}：{'已收到' if received else '缺少'}",
    )
    cal = calendar or _default_calendar()
    state = ClaimState(claim.state)
    if received and all(m.received for m in claim.materials) and state is not ClaimState.UNDER_REVIEW:
        if state is ClaimState.REPORTED:
            _apply_transition(
                session,
                claim,
                calendar=cal,
                to_state=ClaimState.MATERIALS_PENDING,
                actor=who,
                reason="开始收取材料",
                now=now,
            )
        _apply_transition(
            session,
            claim,
            calendar=cal,
            to_state=ClaimState.UNDER_REVIEW,
            actor=who,
            reason="材料已齐全",
            now=now,
        )
    elif not received and state is ClaimState.UNDER_REVIEW:
        _apply_transition(
            session,
            claim,
            calendar=cal,
            to_state=ClaimState.MATERIALS_PENDING,
            actor=who,
            reason=f"需补充材料：{item.label}",
            now=now,
        )
    return claim


def _default_calendar() -> WorkingCalendar:
    """For callers that pass no calendar: the settings' holidays file (prefer passing the runtime's)."""
    from config.settings import get_settings

    return WorkingCalendar.load(get_settings().holidays_file)


def set_bank_account(
    session: Session,
    *,
    cipher: FieldCipher,
    claim_id: int,
    bank_account: str,
    actor: str,
    now: dt.datetime | None = None,
) -> Claim:
    """Store the payout bank account (encrypted); the number is never logged or returned in clear."""
    now = now or utcnow()
    who = v.actor(actor)
    digits = "".join((bank_account or "").split())
    if not (digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 30):
        raise v.invalid("bank_account", "银行卡号不对，请检查后再填", "invalid_bank_account")
    claim = get_claim(session, claim_id=claim_id)
    if ClaimState(claim.state) not in OPEN_STATES:
        raise Conflict("claim_not_open", "案件已办结，不能再改", detail={"state": claim.state})
    claim.bank_account_enc = cipher.encrypt(digits, purpose=PURPOSE_BANK_ACCOUNT)
    claim.updated_at = now
    _flush(session, claim)
    _record(session, claim, kind="bank_account", actor=who, at=now, reason="更新收款银行卡")
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
