"""Complaints: 受理 (received) → 调查 (investigating) → 反馈 (responded) → 结案 (closed), then 回访.

Deadlines (from the product's standards, kept on the complaint when filed): acknowledgement within
``complaint_ack_hours`` clock hours of receipt; an answer (entering ``responded``) within
``complaint_resolution_working_days`` working days of the day received. ``due_at`` is the earliest
deadline still open. Entering ``investigating`` counts as acknowledgement. A complainant not satisfied
with the answer can have it reopened (responded → investigating, with a reason).
The vocabulary (states, categories, labels, transitions) is :mod:`backend.complaints.states`;
home-visit requests live in :mod:`backend.complaints.home_visits`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from backend.calendar.service import WorkingCalendar, end_of_local_day, local_date
from backend.claims import validation as v
from backend.claims.models import Claim
from backend.claims.numbers import next_case_number
from backend.complaints.models import (
    PURPOSE_COMPLAINANT_NAME,
    PURPOSE_COMPLAINT_PHONE,
    Complaint,
    ComplaintEvent,
)
from backend.complaints.states import (
    STATE_LABELS,
    TRANSITIONS,
    ComplaintCategory,
    ComplaintState,
    Severity,
    parse_enum,
)
from backend.db import utcnow
from backend.errors import Conflict, NotFound
from backend.outbox import APPS, Recipient, enqueue_notice
from backend.privacy.freetext import free_text, seal, sealed_fields, set_free_text
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from backend.security.masking import mask_name

MAX_PAGE = 200


def _record(
    session: Session,
    c: Complaint,
    *,
    cipher: FieldCipher,
    kind: str,
    actor: str,
    at: dt.datetime,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
) -> None:
    session.add(
        ComplaintEvent(
            complaint_id=c.id,
            complaint_version=c.version,
            at=at,
            actor=actor,
            kind=kind,
            from_state=from_state,
            to_state=to_state,
            reason_enc=seal(reason, cipher=cipher, purpose=ComplaintEvent.FREE_TEXT["reason"][1]),
        )
    )
    session.flush()


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("version_conflict", "这条投诉刚被别人改过，请刷新后再操作") from None


def _refresh_due(c: Complaint) -> None:
    if c.state in (ComplaintState.RESPONDED, ComplaintState.CLOSED):
        c.due_at, c.due_kind = None, None
    elif c.acknowledged_at is None:
        c.due_at, c.due_kind = c.ack_due_at, "ack"
    else:
        c.due_at, c.due_kind = end_of_local_day(c.resolution_due_date), "resolution"


def file_complaint(
    session: Session,
    *,
    cipher: FieldCipher,
    catalog: ProductCatalog,
    calendar: WorkingCalendar,
    category: str,
    severity: str,
    channel: str,
    complainant_name: str | None,
    contact_phone: str,
    content: str,
    actor: str,
    product_id: str | None = None,
    related_case_no: str | None = None,
    openid: str | None = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """Record (受理) a complaint with its acknowledgement and answer deadlines."""
    now = now or utcnow()
    product = catalog.get(product_id)
    cat = parse_enum(category, ComplaintCategory, "category", "投诉类别不对")
    sev = parse_enum(severity, Severity, "severity", "紧急程度不对")
    chan = v.channel(channel)
    # a complaint made in chat may come without a name: the phone is how staff reach the customer
    name = v.text(complainant_name, field="complainant_name", label="投诉人姓名", max_len=100,
                  required=not _chat(channel))
    phone = v.phone_number(contact_phone, field="contact_phone")
    body = v.required_text(content, field="content", label="投诉内容", max_len=4000)
    who = v.actor(actor)
    case_no = v.text(related_case_no, field="related_case_no", label="案件号", max_len=16, required=False)
    if case_no is not None:
        case_no = case_no.upper()
        if session.scalar(select(Claim.id).where(Claim.case_no == case_no)) is None:
            raise NotFound("claim_not_found", "找不到这个案件号，请核对", detail={"field": "related_case_no"})
    std = product.service_standards
    standards = {
        "complaint_ack_hours": int(std.complaint_ack_hours),
        "complaint_resolution_working_days": int(std.complaint_resolution_working_days),
    }
    resolution = calendar.deadline_after(now, standards["complaint_resolution_working_days"])
    with session.begin_nested():
        c = Complaint(
            complaint_no=next_case_number(session, prefix="TS", at=now),
            product_id=product.id,
            state=ComplaintState.RECEIVED.value,
            category=cat,
            severity=sev,
            channel=chan,
            complainant_name_enc=cipher.encrypt(name, purpose=PURPOSE_COMPLAINANT_NAME) if name else None,
            complainant_name_masked=(mask_name(name) or "*") if name else "",
            contact_phone_enc=cipher.encrypt(phone, purpose=PURPOSE_COMPLAINT_PHONE),
            contact_phone_bidx=cipher.blind_index(phone, purpose=PURPOSE_COMPLAINT_PHONE),
            openid=openid,
            related_case_no=case_no,
            **sealed_fields(Complaint, {"content": body}, cipher=cipher),
            standards=standards,
            received_at=now,
            updated_at=now,
            ack_due_at=now + dt.timedelta(hours=standards["complaint_ack_hours"]),
            resolution_due_date=resolution.date,
            resolution_due_provisional=resolution.provisional,
            resolution_base=local_date(now),
            resolution_working_days=standards["complaint_resolution_working_days"],
        )
        _refresh_due(c)
        session.add(c)
        session.flush()
        _record(session, c, cipher=cipher, kind="filed", actor=who, at=now, to_state=c.state)
        _notify(session, c, kind="complaint_received", key=f"complaint:{c.id}:received", now=now)
    return c


def _notify(session: Session, c: Complaint, *, kind: str, key: str, now: dt.datetime) -> None:
    """Tell the complainant (outbox row in this transaction): received with the answer date, answered."""
    params = {"complaint_no": c.complaint_no, "date": c.resolution_due_date.isoformat(),
              "provisional": bool(c.resolution_due_provisional)}
    app = APPS.get(c.channel)
    recipient = Recipient(openid=c.openid if app else None, app=app, phone_enc=c.contact_phone_enc,
                          phone_purpose=PURPOSE_COMPLAINT_PHONE)
    enqueue_notice(session, key=key, kind=kind, subject_type="complaint", subject_id=c.id, params=params,
                   recipient=recipient, now=now, urgent=c.severity == "urgent")


def _chat(channel: str) -> bool:
    return channel in ("official_account", "mini_program")


def add_complaint_details(
    session: Session, *, cipher: FieldCipher, complaint_id: int, text: str, actor: str,
    now: dt.datetime | None = None, new_phone: str | None = None,
) -> Complaint:
    """Record what the customer added after filing (more details, a time, a case number); ``new_phone``:
    the callback number corrected (尾数是八，唔是四), which replaces the one given."""
    at = now or utcnow()
    c = get_complaint(session, complaint_id=complaint_id)
    body = v.required_text(text, field="text", label="补充内容", max_len=2000)
    if new_phone:
        phone = v.phone_number(new_phone, field="contact_phone")
        c.contact_phone_enc = cipher.encrypt(phone, purpose=PURPOSE_COMPLAINT_PHONE)
        c.contact_phone_bidx = cipher.blind_index(phone, purpose=PURPOSE_COMPLAINT_PHONE)
    c.updated_at = at
    _flush(session)
    _record(session, c, cipher=cipher, kind="customer_added", actor=v.actor(actor), at=at, reason=body)
    return c


def get_complaint(
    session: Session, *, complaint_id: int | None = None, complaint_no: str | None = None
) -> Complaint:
    """One complaint by id or number; NotFound otherwise."""
    if (complaint_id is None) == (complaint_no is None):
        raise ValueError("give exactly one of complaint_id and complaint_no")
    if complaint_id is not None:
        c = session.get(Complaint, complaint_id)
    else:
        no = (complaint_no or "").strip().upper()
        c = session.scalar(select(Complaint).where(Complaint.complaint_no == no))
    if c is None:
        raise NotFound("complaint_not_found", "找不到这条投诉，请核对编号")
    return c


def _check_version(c: Complaint, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != c.version:
        raise Conflict(
            "version_conflict",
            "这条投诉刚被别人改过，请刷新后再操作",
            detail={"expected_version": expected_version, "current_version": c.version},
        )


def acknowledge_complaint(
    session: Session,
    *,
    cipher: FieldCipher,
    complaint_id: int,
    actor: str,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """Record that the complainant was told the complaint is being handled (idempotent)."""
    now = now or utcnow()
    who = v.actor(actor)
    c = get_complaint(session, complaint_id=complaint_id)
    if c.acknowledged_at is not None:
        return c
    c.acknowledged_at, c.acknowledged_by, c.updated_at = now, who, now
    _refresh_due(c)
    _flush(session)
    why = v.text(note, field="note", label="备注", max_len=1000, required=False)
    _record(session, c, cipher=cipher, kind="acknowledged", actor=who, at=now, reason=why)
    return c


def transition_complaint(
    session: Session,
    *,
    cipher: FieldCipher,
    complaint_id: int,
    to_state: str,
    actor: str,
    reason: str | None = None,
    response: str | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """Move a complaint along 受理 → 调查 → 反馈 → 结案; ``responded`` needs the answer given."""
    now = now or utcnow()
    who = v.actor(actor)
    c = get_complaint(session, complaint_id=complaint_id)
    _check_version(c, expected_version)
    target = ComplaintState(parse_enum(to_state, ComplaintState, "state", "没有这个投诉状态"))
    current = ComplaintState(c.state)
    if target not in TRANSITIONS[current]:
        raise Conflict(
            "invalid_transition",
            f"投诉现在是「{STATE_LABELS[current]}」，不能改为「{STATE_LABELS[target]}」",
            detail={"from": current.value, "to": target.value, "allowed": sorted(TRANSITIONS[current])},
        )
    why = v.text(reason, field="reason", label="原因", max_len=1000, required=False)
    if target is ComplaintState.RESPONDED:
        answer = v.required_text(response, field="response", label="给投诉人的答复", max_len=4000)
        set_free_text(c, "response", answer, cipher=cipher)
        c.responded_at = now
    if current is ComplaintState.RESPONDED and target is ComplaintState.INVESTIGATING:
        if why is None:
            raise v.invalid("reason", "请填写重新调查的原因", "reason_required")
        c.responded_at = None
    if target is ComplaintState.CLOSED:
        c.closed_at = now
    if c.acknowledged_at is None:
        c.acknowledged_at, c.acknowledged_by = now, who
    c.state, c.updated_at = target.value, now
    _refresh_due(c)
    _flush(session)
    _record(
        session,
        c,
        cipher=cipher,
        kind="transition",
        actor=who,
        at=now,
        from_state=current.value,
        to_state=target.value,
        reason=why,
    )
    if target is ComplaintState.RESPONDED:
        _notify(session, c, kind="complaint_answered", key=f"complaint:{c.id}:answered:v{c.version}", now=now)
    return c


def record_followup(
    session: Session,
    *,
    cipher: FieldCipher,
    complaint_id: int,
    actor: str,
    result: str,
    satisfied: bool | None = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """Record the follow-up visit (回访) of a closed complaint (once)."""
    now = now or utcnow()
    who = v.actor(actor)
    text = v.required_text(result, field="result", label="回访结果", max_len=2000)
    c = get_complaint(session, complaint_id=complaint_id)
    if c.state != ComplaintState.CLOSED:
        raise Conflict("complaint_not_closed", "投诉结案后才能回访", detail={"state": c.state})
    if c.followup_at is not None:
        raise Conflict("followup_exists", "这条投诉已经回访过了")
    c.followup_at, c.followup_by, c.followup_satisfied = now, who, satisfied
    set_free_text(c, "followup_result", text, cipher=cipher)
    c.updated_at = now
    _flush(session)
    _record(session, c, cipher=cipher, kind="followup", actor=who, at=now, reason=text)
    return c


def complaint_text(c: Complaint, field: str, *, cipher: FieldCipher) -> str | None:
    """The clear text of a complaint's free-text field (content, response, followup_result)."""
    return free_text(c, field, cipher=cipher)


def list_complaints(
    session: Session,
    *,
    state: str | None = None,
    overdue: bool | None = None,
    due_within_hours: float | None = None,
    category: str | None = None,
    severity: str | None = None,
    now: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Complaint]:
    """Complaints by state / overdue / due within N hours, most urgent first."""
    now = now or utcnow()
    q = select(Complaint)
    if state is not None:
        q = q.where(Complaint.state == parse_enum(state, ComplaintState, "state", "没有这个投诉状态"))
    if category is not None:
        q = q.where(Complaint.category == parse_enum(category, ComplaintCategory, "category", "投诉类别不对"))
    if severity is not None:
        q = q.where(Complaint.severity == parse_enum(severity, Severity, "severity", "紧急程度不对"))
    if overdue is True:
        q = q.where(Complaint.due_at.is_not(None), Complaint.due_at < now)
    elif overdue is False:
        q = q.where(Complaint.due_at.is_(None) | (Complaint.due_at >= now))
    if due_within_hours is not None:
        if due_within_hours < 0:
            raise v.invalid("due_within_hours", "小时数不能是负数")
        q = q.where(Complaint.due_at >= now, Complaint.due_at <= now + dt.timedelta(hours=due_within_hours))
    q = q.order_by(Complaint.due_at.is_(None), Complaint.due_at, Complaint.id)
    return list(session.scalars(q.limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))))


def complaint_history(session: Session, *, complaint_id: int) -> list[ComplaintEvent]:
    """Every recorded event of a complaint, oldest first."""
    get_complaint(session, complaint_id=complaint_id)
    q = select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id).order_by(ComplaintEvent.id)
    return list(session.scalars(q))


def recompute_provisional_complaint_deadlines(
    session: Session, *, calendar: WorkingCalendar, now: dt.datetime | None = None
) -> int:
    """Recompute provisional answer deadlines with the current calendar; how many changed."""
    changed = 0
    q = select(Complaint).where(Complaint.resolution_due_provisional.is_(True)).order_by(Complaint.id)
    for c in session.scalars(q):
        d = calendar.add_working_days(c.resolution_base, c.resolution_working_days)
        if (d.date, d.provisional) != (c.resolution_due_date, c.resolution_due_provisional):
            c.resolution_due_date, c.resolution_due_provisional = d.date, d.provisional
            c.updated_at = now or utcnow()
            _refresh_due(c)
            changed += 1
    session.flush()
    return changed
