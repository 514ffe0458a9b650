"""Routes of the notifications domain.

* ``GET  /staff/api/claims/{id}/notices`` — the notices about a claim, as told (audited read).
* ``GET  /staff/api/notices/due-summary`` — what falls due (the console's dashboard).
* ``GET  /staff/api/notices/due`` — notices waiting to go out within the next hours (overdue first).
* ``GET  /staff/api/notices/dead`` — notices no channel could deliver (dead letters), in plain words;
  staff resend one with ``POST /staff/api/jobs/{job_id}/resend`` (``backend.jobs.api``).
* ``PUT  /staff/api/notices/channels/{openid}`` — a customer's order of channels.
* ``POST /callbacks/aliyun/sms-report/{token}`` — Aliyun's SmsReport push: answers ``{"code": 0}``
  once stored; a 5xx makes Aliyun push again (+1, +5, +10 min). The token in the path is the secret
  ``CS_SMS__REPORT_TOKEN`` (the push carries no signature).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from backend.audit.service import record_event
from backend.claims.queries import get_claim
from backend.db import session_scope
from backend.deps import DbSession, Limit, Now, Offset, RowId, RuntimeDep
from backend.errors import ERROR_RESPONSES, NotFound, ServiceError
from backend.notices import service as notices
from backend.notices.outbox_view import OutboxNotice, dead_notices, due_notices
from backend.notices.staff import staff_due_summary
from backend.notices.templates import load_book
from backend.staff.deps import StaffPrincipal, require_roles
from backend.staff.models import Role

log = logging.getLogger(__name__)
router = APIRouter(tags=["notices"])
staff_router = APIRouter(prefix="/staff/api", tags=["notices"], responses=ERROR_RESPONSES)
Reader = Annotated[StaffPrincipal, Depends(require_roles(Role.AGENT, Role.CLAIMS_OFFICER, Role.SUPERVISOR,
                                                         Role.ADMIN))]
Writer = Annotated[StaffPrincipal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
Operator = Writer  # the outbox (waiting and dead notices): as for the jobs routes
OpenId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class NoticeOut(BaseModel):
    id: int
    kind: str
    text: str
    state: str
    channel: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    receipt_status: str | None


class NoticeListOut(BaseModel):
    items: list[NoticeOut]


class SmsReportAck(BaseModel):
    """What Aliyun expects back: ``code`` 0 once the receipts are stored."""

    code: int
    msg: str


class DueSummaryOut(BaseModel):
    claims: list[str]
    complaints: list[str]


class OutboxNoticeOut(BaseModel):
    """A notice waiting or dead: ``job_id`` is the job to resend (dead ones)."""

    job_id: int
    job_kind: str
    kind: str
    subject_type: str
    subject_id: int
    text: str
    state: str
    due_at: dt.datetime
    attempts: int
    last_error: str | None


class OutboxNoticeListOut(BaseModel):
    items: list[OutboxNoticeOut]
    limit: int
    offset: int


def _outbox_out(items: list[OutboxNotice], limit: int, offset: int) -> OutboxNoticeListOut:
    return OutboxNoticeListOut(items=[OutboxNoticeOut(**vars(i)) for i in items], limit=limit, offset=offset)


class ChannelsIn(BaseModel):
    channels: list[str] = Field(min_length=1, max_length=3)


class ChannelsOut(BaseModel):
    openid: str
    channels: list[str]


@staff_router.get("/claims/{claim_id}/notices", response_model=NoticeListOut)
def claim_notices(claim_id: RowId, staff: Reader, db: DbSession, runtime: RuntimeDep,
                  now: Now) -> NoticeListOut:
    """Every notice about a claim, newest first, in the words the customer got."""
    get_claim(db, claim_id=claim_id)
    record_event(db, actor=staff.username, action="read", object_type="claim_notices", object_id=claim_id,
                 purpose="view", ip=staff.ip, at=now)
    book = load_book(runtime.settings.notices.file)
    return NoticeListOut(items=[NoticeOut(**vars(v)) for v in notices.notices_for_claim(db, claim_id=claim_id,
                                                                                        book=book)])


@staff_router.get("/notices/due-summary", response_model=DueSummaryOut)
def due_summary(staff: Reader, db: DbSession, runtime: RuntimeDep, now: Now) -> DueSummaryOut:
    """Claims due within one working day, complaints near their answer limit."""
    summary = staff_due_summary(db, calendar=runtime.calendar, now=now)
    return DueSummaryOut(claims=summary.claims, complaints=summary.complaints)


@staff_router.get("/notices/due", response_model=OutboxNoticeListOut)
def notices_due(staff: Operator, db: DbSession, runtime: RuntimeDep, now: Now, limit: Limit = 50,
                offset: Offset = 0,
                within_hours: Annotated[int, Query(ge=0, le=24 * 31)] = 24) -> OutboxNoticeListOut:
    """Notices waiting to go out within ``within_hours`` (overdue ones first)."""
    book = load_book(runtime.settings.notices.file)
    items = due_notices(db, book=book, until=now + dt.timedelta(hours=within_hours), limit=limit,
                        offset=offset)
    return _outbox_out(items, limit, offset)


@staff_router.get("/notices/dead", response_model=OutboxNoticeListOut)
def notices_dead(staff: Operator, db: DbSession, runtime: RuntimeDep, limit: Limit = 50,
                 offset: Offset = 0) -> OutboxNoticeListOut:
    """Notices no channel could deliver, most recent first (resend: ``POST /staff/api/jobs/{id}/resend``)."""
    book = load_book(runtime.settings.notices.file)
    return _outbox_out(dead_notices(db, book=book, limit=limit, offset=offset), limit, offset)


@staff_router.put("/notices/channels/{openid}", response_model=ChannelsOut)
def set_channels(openid: OpenId, body: ChannelsIn, staff: Writer, db: DbSession, now: Now) -> ChannelsOut:
    """Set the order of channels a customer wants notices in."""
    channels = notices.set_channel_order(db, openid=openid, channels=body.channels, now=now)
    record_event(db, actor=staff.username, action="notice_channels", object_type="customer", purpose="update",
                 ip=staff.ip, at=now)
    return ChannelsOut(openid=openid, channels=channels)


@router.post("/callbacks/aliyun/sms-report/{token}", response_model=SmsReportAck,
             responses={503: {"model": SmsReportAck, "description": "not stored: Aliyun pushes it again"}})
async def sms_report(token: Annotated[str, Path(max_length=128)], request: Request) -> JSONResponse:
    """Aliyun's SmsReport push (see the module doc)."""
    runtime = request.app.state.runtime
    expected = runtime.settings.sms.report_token.get_secret_value()
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise NotFound("not_found", "没有这个地址")
    raw = await request.body()
    if len(raw) > 1_000_000:
        raise ServiceError("too_large", "回执太大", detail={"max_bytes": 1_000_000})
    try:
        reports = notices.parse_sms_reports(json.loads(raw or b"null"))
    except ValueError:
        raise ServiceError("invalid_report", "回执格式不对", detail={"expected": "a JSON array"}) from None
    try:
        with session_scope(runtime.sessions) as session:
            new = notices.record_sms_reports(session, reports=reports)
    except SQLAlchemyError:
        log.warning("sms report not stored: database unavailable; Aliyun will push it again")
        return JSONResponse({"code": 1, "msg": "稍后重试"}, status_code=503)
    log.info("sms report: %d entries, %d new", len(reports), new)
    return JSONResponse({"code": 0, "msg": "接收成功"})
