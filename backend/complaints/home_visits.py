"""Home-visit requests (上门服务): requested → contacted → visited, or cancelled.

Contact due within ``home_visit_contact_hours`` and the visit within ``home_visit_visit_hours``,
both clock hours counted from the request. Name, address and phone are stored encrypted (the name
also masked, for lists).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from backend.calendar.service import SHANGHAI
from backend.claims import validation as v
from backend.claims.numbers import next_case_number
from backend.complaints.models import (
    PURPOSE_VISIT_ADDRESS,
    PURPOSE_VISIT_NAME,
    PURPOSE_VISIT_PHONE,
    HomeVisit,
)
from backend.db import utcnow
from backend.errors import Conflict, NotFound
from backend.jobs import service as jobs
from backend.outbox import APPS, SEND_KIND, Recipient, enqueue_notice, local_time_on
from backend.privacy.freetext import free_text, sealed_fields, set_free_text
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from backend.security.masking import mask_name

MAX_PAGE = 200


class VisitState(StrEnum):
    """Where a home-visit request stands."""

    REQUESTED = "requested"
    CONTACTED = "contacted"
    VISITED = "visited"
    CANCELLED = "cancelled"


STATE_LABELS = {"requested": "已申请", "contacted": "已联系", "visited": "已上门", "cancelled": "已取消"}


def request_home_visit(
    session: Session,
    *,
    cipher: FieldCipher,
    catalog: ProductCatalog,
    name: str,
    phone: str,
    address: str,
    purpose: str,
    channel: str,
    actor: str,
    product_id: str | None = None,
    openid: str | None = None,
    related_case_no: str | None = None,
    now: dt.datetime | None = None,
) -> HomeVisit:
    """Record a home-visit request with its contact and visit deadlines."""
    now = now or utcnow()
    product = catalog.get(product_id)
    std = product.service_standards
    clean_name = v.required_text(name, field="name", label="姓名", max_len=100)
    clean_phone = v.phone_number(phone, field="phone")
    clean_address = v.required_text(address, field="address", label="地址", max_len=300)
    clean_purpose = v.required_text(purpose, field="purpose", label="上门办理的事情", max_len=1000)
    chan = v.channel(channel)
    v.actor(actor)
    case_no = v.text(related_case_no, field="related_case_no", label="案件号", max_len=16, required=False)
    with session.begin_nested():
        visit = HomeVisit(
            visit_no=next_case_number(session, prefix="SM", at=now),
            product_id=product.id,
            state=VisitState.REQUESTED.value,
            name_enc=cipher.encrypt(clean_name, purpose=PURPOSE_VISIT_NAME),
            name_masked=mask_name(clean_name) or "*",
            phone_enc=cipher.encrypt(clean_phone, purpose=PURPOSE_VISIT_PHONE),
            phone_bidx=cipher.blind_index(clean_phone, purpose=PURPOSE_VISIT_PHONE),
            address_enc=cipher.encrypt(clean_address, purpose=PURPOSE_VISIT_ADDRESS),
            openid=openid,
            channel=chan,
            **sealed_fields(HomeVisit, {"purpose": clean_purpose}, cipher=cipher),
            related_case_no=case_no.upper() if case_no else None,
            requested_at=now,
            updated_at=now,
            contact_due_at=now + dt.timedelta(hours=int(std.home_visit_contact_hours)),
            visit_due_at=now + dt.timedelta(hours=int(std.home_visit_visit_hours)),
        )
        session.add(visit)
        session.flush()
    return visit


def get_home_visit(
    session: Session, *, visit_id: int | None = None, visit_no: str | None = None
) -> HomeVisit:
    """One request by id or number; NotFound otherwise."""
    if (visit_id is None) == (visit_no is None):
        raise ValueError("give exactly one of visit_id and visit_no")
    if visit_id is not None:
        visit = session.get(HomeVisit, visit_id)
    else:
        visit = session.scalar(
            select(HomeVisit).where(HomeVisit.visit_no == (visit_no or "").strip().upper())
        )
    if visit is None:
        raise NotFound("home_visit_not_found", "找不到这个上门服务申请")
    return visit


def _own_requested_visit(session: Session, *, visit_no: str, openid: str | None) -> HomeVisit | None:
    """The visit ``visit_no`` when it is this customer's (``openid``) and still requested: the only
    visits a customer may change or cancel in chat; None otherwise."""
    visit = get_home_visit(session, visit_no=visit_no)
    if visit.openid is None or visit.openid != openid or visit.state != VisitState.REQUESTED.value:
        return None
    return visit


def add_customer_words(session: Session, *, cipher: FieldCipher, visit_no: str, openid: str | None,
                       words: str) -> bool:
    """What the customer adds after booking (a time that suits them, 初五以后), kept with the visit's
    purpose for the staff who call, while the visit is still requested and theirs; whether kept."""
    visit = _own_requested_visit(session, visit_no=visit_no, openid=openid)
    if visit is None:
        return False
    old = visit_text(visit, "purpose", cipher=cipher) or ""
    set_free_text(visit, "purpose", (old + " " + words.strip()).strip()[:1000], cipher=cipher)
    return True


def change_visit_phone(session: Session, *, cipher: FieldCipher, visit_no: str, openid: str | None,
                       phone: str) -> bool:
    """The customer's own change of the number to call (打我的，唔好打阿公的), while the visit is still
    requested and theirs; whether changed."""
    visit = _own_requested_visit(session, visit_no=visit_no, openid=openid)
    if visit is None:
        return False
    clean = v.phone_number(phone, field="phone")
    visit.phone_enc = cipher.encrypt(clean, purpose=PURPOSE_VISIT_PHONE)
    visit.phone_bidx = cipher.blind_index(clean, purpose=PURPOSE_VISIT_PHONE)
    session.flush()
    return True


def cancel_visit_by_customer(session: Session, *, cipher: FieldCipher, visit_no: str, openid: str | None,
                             reason: str, now: dt.datetime | None = None) -> bool:
    """The customer's own cancellation in chat (唔使来了), while the visit is still requested and theirs;
    whether cancelled (a visit already arranged on the phone is left to the staff who called)."""
    visit = _own_requested_visit(session, visit_no=visit_no, openid=openid)
    if visit is None:
        return False
    cancel_home_visit(session, cipher=cipher, visit_id=visit.id, actor=f"customer:{openid}",
                      reason=reason, now=now)
    return True


def _move(session: Session, visit: HomeVisit, allowed_from: tuple[VisitState, ...], to: VisitState) -> None:
    current = VisitState(visit.state)
    if current not in allowed_from:
        raise Conflict(
            "invalid_transition",
            f"上门服务现在是「{STATE_LABELS[current]}」，不能改为「{STATE_LABELS[to]}」",
            detail={"from": current.value, "to": to.value},
        )
    visit.state = to.value
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("version_conflict", "这条申请刚被别人改过，请刷新后再操作") from None


def visit_text(visit: HomeVisit, field: str, *, cipher: FieldCipher) -> str | None:
    """The clear text of a visit's free-text field (purpose, note)."""
    return free_text(visit, field, cipher=cipher)


def _set_note(visit: HomeVisit, note: str | None, cipher: FieldCipher) -> None:
    """A new staff note replaces the old one; no note keeps it."""
    if note is not None:
        set_free_text(visit, "note", note, cipher=cipher)


def _mark_step(
    session: Session, *, cipher: FieldCipher, visit_id: int, actor: str, note: str | None,
    now: dt.datetime | None, step: str, came_from: VisitState, to: VisitState,
) -> HomeVisit:
    """Stamp ``<step>_at``/``<step>_by``, keep an optional note, and move the visit on."""
    now = now or utcnow()
    who = v.actor(actor)
    visit = get_home_visit(session, visit_id=visit_id)
    setattr(visit, f"{step}_at", now)
    setattr(visit, f"{step}_by", who)
    visit.updated_at = now
    _set_note(visit, v.text(note, field="note", label="备注", max_len=1000, required=False), cipher)
    _move(session, visit, (came_from,), to)
    return visit


def mark_contacted(
    session: Session, *, cipher: FieldCipher, visit_id: int, actor: str, note: str | None = None,
    now: dt.datetime | None = None, appointment_at: dt.datetime | None = None,
) -> HomeVisit:
    """The customer was contacted (phone call) about the visit; with the time agreed, they are sent a
    confirmation now and a reminder at 10:00 the day before."""
    now = now or utcnow()
    if appointment_at is not None and (appointment_at.tzinfo is None or appointment_at <= now):
        raise v.invalid("appointment_at", "上门时间要填以后的时间", "appointment_in_past")
    visit = _mark_step(session, cipher=cipher, visit_id=visit_id, actor=actor, note=note, now=now,
                       step="contacted", came_from=VisitState.REQUESTED, to=VisitState.CONTACTED)
    if appointment_at is not None:
        visit.appointment_at = appointment_at
        session.flush()
        _notify_appointment(session, visit, now=now)
    return visit


def _when(at: dt.datetime) -> str:
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _notify_appointment(session: Session, visit: HomeVisit, *, now: dt.datetime) -> None:
    assert visit.appointment_at is not None
    app = APPS.get(visit.channel)
    recipient = Recipient(openid=visit.openid if app else None, app=app, phone_enc=visit.phone_enc,
                          phone_purpose=PURPOSE_VISIT_PHONE)
    params = {"visit_no": visit.visit_no, "when": _when(visit.appointment_at)}
    stamp = visit.appointment_at.astimezone(dt.UTC).isoformat()
    enqueue_notice(session, key=f"visit:{visit.id}:confirmed:{stamp}", kind="visit_confirmed",
                   subject_type="home_visit", subject_id=visit.id, params=params, recipient=recipient,
                   now=now)
    remind_at = local_time_on(visit.appointment_at.astimezone(SHANGHAI).date() - dt.timedelta(days=1))
    if remind_at > now:
        enqueue_notice(session, key=f"visit:{visit.id}:reminder:{stamp}", kind="visit_reminder",
                       subject_type="home_visit", subject_id=visit.id, params=params, recipient=recipient,
                       now=now, due_at=remind_at)


def mark_visited(
    session: Session, *, cipher: FieldCipher, visit_id: int, actor: str, note: str | None = None,
    now: dt.datetime | None = None,
) -> HomeVisit:
    """The visit took place."""
    return _mark_step(session, cipher=cipher, visit_id=visit_id, actor=actor, note=note, now=now,
                      step="visited", came_from=VisitState.CONTACTED, to=VisitState.VISITED)


def cancel_home_visit(
    session: Session, *, cipher: FieldCipher, visit_id: int, actor: str, reason: str,
    now: dt.datetime | None = None,
) -> HomeVisit:
    """Cancel an open request (with a reason)."""
    now = now or utcnow()
    who = v.actor(actor)
    why = v.required_text(reason, field="reason", label="取消原因", max_len=1000)
    visit = get_home_visit(session, visit_id=visit_id)
    visit.cancelled_at, visit.cancelled_by, visit.updated_at = now, who, now
    _set_note(visit, why, cipher)
    _move(session, visit, (VisitState.REQUESTED, VisitState.CONTACTED), VisitState.CANCELLED)
    if visit.appointment_at is not None:  # no reminder of a cancelled visit
        stamp = visit.appointment_at.astimezone(dt.UTC).isoformat()
        jobs.cancel(session, kind=SEND_KIND, key=f"visit:{visit.id}:reminder:{stamp}", now=now)
    return visit


def list_home_visits(
    session: Session,
    *,
    state: str | None = None,
    overdue: bool | None = None,
    due_within_hours: float | None = None,
    now: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[HomeVisit]:
    """Requests by state / overdue (contact or visit late) / next deadline within N hours."""
    now = now or utcnow()
    requested = HomeVisit.state == VisitState.REQUESTED.value
    contacted = HomeVisit.state == VisitState.CONTACTED.value
    late = or_(
        and_(requested, or_(HomeVisit.contact_due_at < now, HomeVisit.visit_due_at < now)),
        and_(contacted, HomeVisit.visit_due_at < now),
    )
    q = select(HomeVisit)
    if state is not None:
        try:
            q = q.where(HomeVisit.state == VisitState(state).value)
        except ValueError:
            raise v.invalid("state", "没有这个状态", "unknown_state") from None
    if overdue is True:
        q = q.where(late)
    elif overdue is False:
        q = q.where(~late)
    if due_within_hours is not None:
        if due_within_hours < 0:
            raise v.invalid("due_within_hours", "小时数不能是负数")
        until = now + dt.timedelta(hours=due_within_hours)
        q = q.where(
            or_(
                and_(requested, HomeVisit.contact_due_at >= now, HomeVisit.contact_due_at <= until),
                and_(contacted, HomeVisit.visit_due_at >= now, HomeVisit.visit_due_at <= until),
            )
        )
    q = q.order_by(HomeVisit.contact_due_at, HomeVisit.id)
    return list(session.scalars(q.limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))))
