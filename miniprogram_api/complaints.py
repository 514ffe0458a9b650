"""Complaints (file, list, detail with due dates, rate the outcome) and home visits (book, see, cancel)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from backend.accounts import access, casework
from backend.complaints.home_visits import STATE_LABELS as VISIT_LABELS
from backend.complaints.models import Complaint, HomeVisit
from backend.complaints.rating import rate_complaint
from backend.complaints.service import complaint_text
from backend.complaints.states import CATEGORY_LABELS, STATE_LABELS
from backend.deps import CatalogDep, CipherDep, DbSession, RuntimeDep
from backend.idempotency import service as idem
from backend.security.crypto import CryptoError, FieldCipher
from miniprogram_api.deps import Before, CurrentCustomer, IdempotencyKey, Now, PageLimit, RowId
from miniprogram_api.schemas import In, Page

router = APIRouter(tags=["投诉和上门"])
Category = Literal["service_attitude", "claim_speed", "claim_decision", "information_error", "other"]


class ComplaintIn(In):
    category: Category = Field(examples=["claim_speed"])
    content: str = Field(min_length=1, max_length=4000, examples=["报案一个月了还没有消息"])
    name: str = Field(min_length=1, max_length=100, examples=["陈小明"], description="投诉人姓名")
    phone: str = Field(min_length=5, max_length=20, examples=["13800138000"])
    claim_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="相关的案件（可不填）")


class RatingIn(In):
    rating: int = Field(ge=1, le=5, examples=[4], description="1到5颗星")
    comment: str | None = Field(default=None, max_length=500, examples=["处理得很耐心"])


class ComplaintOut(BaseModel):
    id: int = Field(examples=[5])
    complaint_no: str = Field(examples=["TS26030200011"])
    category: str
    category_label: str = Field(examples=["理赔速度"])
    state: str = Field(examples=["investigating"])
    state_label: str = Field(examples=["调查"])
    received_at: dt.datetime
    ack_due_at: dt.datetime = Field(description="最晚什么时候联系您")
    acknowledged_at: dt.datetime | None = None
    answer_due_date: dt.date = Field(description="最晚哪天给您答复（北京时间）")
    answer_due_provisional: bool = False
    responded_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    content: str | None = None
    answer: str | None = None
    rating: int | None = None
    can_rate: bool


class VisitIn(In):
    name: str = Field(min_length=1, max_length=100, examples=["陈阿婆"])
    phone: str = Field(min_length=5, max_length=20, examples=["13800138000"])
    address: str = Field(min_length=1, max_length=300, examples=["潮南区峡山街道某村12号"])
    purpose: str = Field(min_length=1, max_length=1000, examples=["老人腿脚不便，请上门收理赔材料"])
    claim_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class CancelIn(In):
    reason: str = Field(min_length=1, max_length=1000, examples=["已经自己送过去了"])


class VisitOut(BaseModel):
    id: int = Field(examples=[8])
    visit_no: str = Field(examples=["SM26030200021"])
    state: str = Field(examples=["requested"])
    state_label: str = Field(examples=["已申请"])
    requested_at: dt.datetime
    contact_due_at: dt.datetime = Field(description="最晚什么时候打电话联系您")
    visit_due_at: dt.datetime = Field(description="最晚什么时候上门")
    contacted_at: dt.datetime | None = None
    visited_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    can_cancel: bool


def _text(c: Complaint, field: str, cipher: FieldCipher) -> str | None:
    try:
        return complaint_text(c, field, cipher=cipher)
    except CryptoError:
        return None


def complaint_view(c: Complaint, cipher: FieldCipher) -> ComplaintOut:
    return ComplaintOut(
        id=c.id,
        complaint_no=c.complaint_no,
        category=c.category,
        category_label=CATEGORY_LABELS[c.category],
        state=c.state,
        state_label=STATE_LABELS[c.state],
        received_at=c.received_at,
        ack_due_at=c.ack_due_at,
        acknowledged_at=c.acknowledged_at,
        answer_due_date=c.resolution_due_date,
        answer_due_provisional=c.resolution_due_provisional,
        responded_at=c.responded_at,
        closed_at=c.closed_at,
        content=_text(c, "content", cipher),
        answer=_text(c, "response", cipher),
        rating=c.rating,
        can_rate=c.rating is None and c.state in ("responded", "closed"),
    )


def visit_view(v: HomeVisit) -> VisitOut:
    return VisitOut(
        id=v.id,
        visit_no=v.visit_no,
        state=v.state,
        state_label=VISIT_LABELS[v.state],
        requested_at=v.requested_at,
        contact_due_at=v.contact_due_at,
        visit_due_at=v.visit_due_at,
        contacted_at=v.contacted_at,
        visited_at=v.visited_at,
        cancelled_at=v.cancelled_at,
        can_cancel=v.state in ("requested", "contacted"),
    )


@router.post("/complaints", response_model=ComplaintOut, status_code=201, summary="投诉")
def file(
    body: ComplaintIn,
    key: IdempotencyKey,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    db: DbSession,
    cipher: CipherDep,
    catalog: CatalogDep,
    now: Now,
    response: Response,
) -> ComplaintOut:
    """File a complaint; you get the date by which we answer."""
    owner = f"customer:{customer.id}"
    existing = idem.begin(
        db,
        owner=owner,
        key=key,
        operation="complaints.file",
        fp=idem.fingerprint("complaints.file", body.model_dump(mode="json")),
        now=now,
    )
    if existing is not None:
        response.headers["Idempotent-Replayed"] = "true"
        return complaint_view(
            access.visible_complaint(db, account=customer.account, complaint_id=existing), cipher
        )
    c = casework.file_complaint_for(
        db,
        cipher=cipher,
        catalog=catalog,
        calendar=runtime.calendar,
        account=customer.account,
        category=body.category,
        complainant_name=body.name,
        contact_phone=body.phone,
        content=body.content,
        related_claim_id=body.claim_id,
        now=now,
    )
    idem.finish(db, owner=owner, key=key, resource_id=c.id)
    return complaint_view(c, cipher)


@router.get("/complaints", response_model=Page[ComplaintOut], summary="我的投诉")
def complaints(
    customer: CurrentCustomer, db: DbSession, cipher: CipherDep, limit: PageLimit = 20, before: Before = None
) -> Page[ComplaintOut]:
    """Newest first."""
    q = select(Complaint).where(access.visible_complaints(db, account=customer.account))
    if before is not None:
        q = q.where(Complaint.id < before)
    rows = list(db.scalars(q.order_by(Complaint.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[ComplaintOut](
        items=[complaint_view(c, cipher) for c in rows], next_before=rows[-1].id if more else None
    )


@router.get("/complaints/{complaint_id}", response_model=ComplaintOut, summary="投诉详情")
def complaint(
    complaint_id: RowId, customer: CurrentCustomer, db: DbSession, cipher: CipherDep
) -> ComplaintOut:
    """The state, the due dates and our answer."""
    return complaint_view(
        access.visible_complaint(db, account=customer.account, complaint_id=complaint_id), cipher
    )


@router.post("/complaints/{complaint_id}/rating", response_model=ComplaintOut, summary="评价处理结果")
def rate(
    complaint_id: RowId, body: RatingIn, customer: CurrentCustomer, db: DbSession, cipher: CipherDep, now: Now
) -> ComplaintOut:
    """Once we have answered: 1–5 stars and an optional comment (once)."""
    c = access.visible_complaint(db, account=customer.account, complaint_id=complaint_id)
    rate_complaint(
        db,
        cipher=cipher,
        complaint_id=c.id,
        rating=body.rating,
        comment=body.comment,
        actor=f"customer:{customer.account.openid}",
        now=now,
    )
    return complaint_view(c, cipher)


@router.post("/visits", response_model=VisitOut, status_code=201, summary="预约上门服务")
def book(
    body: VisitIn,
    key: IdempotencyKey,
    customer: CurrentCustomer,
    db: DbSession,
    cipher: CipherDep,
    catalog: CatalogDep,
    now: Now,
    response: Response,
) -> VisitOut:
    """Ask for a visit at home (for people who cannot come in); we call first."""
    owner = f"customer:{customer.id}"
    existing = idem.begin(
        db,
        owner=owner,
        key=key,
        operation="visits.book",
        fp=idem.fingerprint("visits.book", body.model_dump(mode="json")),
        now=now,
    )
    if existing is not None:
        response.headers["Idempotent-Replayed"] = "true"
        return visit_view(access.visible_visit(db, account=customer.account, visit_id=existing))
    v = casework.request_visit_for(
        db,
        cipher=cipher,
        catalog=catalog,
        account=customer.account,
        name=body.name,
        phone=body.phone,
        address=body.address,
        purpose=body.purpose,
        related_claim_id=body.claim_id,
        now=now,
    )
    idem.finish(db, owner=owner, key=key, resource_id=v.id)
    return visit_view(v)


@router.get("/visits", response_model=Page[VisitOut], summary="我的上门服务")
def visits(
    customer: CurrentCustomer, db: DbSession, limit: PageLimit = 20, before: Before = None
) -> Page[VisitOut]:
    """Newest first."""
    q = select(HomeVisit).where(access.visible_visits(db, account=customer.account))
    if before is not None:
        q = q.where(HomeVisit.id < before)
    rows = list(db.scalars(q.order_by(HomeVisit.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[VisitOut](items=[visit_view(v) for v in rows], next_before=rows[-1].id if more else None)


@router.get("/visits/{visit_id}", response_model=VisitOut, summary="上门服务详情")
def visit(visit_id: RowId, customer: CurrentCustomer, db: DbSession) -> VisitOut:
    """Its state and the times we promised."""
    return visit_view(access.visible_visit(db, account=customer.account, visit_id=visit_id))


@router.post("/visits/{visit_id}/cancel", response_model=VisitOut, summary="取消上门服务")
def cancel(
    visit_id: RowId, body: CancelIn, customer: CurrentCustomer, db: DbSession, cipher: CipherDep, now: Now
) -> VisitOut:
    """Cancel before the visit, with a reason."""
    return visit_view(
        casework.cancel_visit_for(
            db, cipher=cipher, account=customer.account, visit_id=visit_id, reason=body.reason, now=now
        )
    )
