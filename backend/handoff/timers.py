"""Job handlers of the handoff domain: the SLA timers (2 min warning, 3 min breach, next-response),
delivery of agent and system messages (texts, agents' pictures) to the customer, work items falling
due, and the periodic automatic assignment. Timers are job rows (``backend.jobs``): they survive
restarts and each fires once however many workers run."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.db import session_scope
from backend.errors import NotFound
from backend.gateways.exceptions import WechatApiError, WechatQuotaExceeded, WechatUnreachable
from backend.handoff import copy
from backend.handoff.console import assign_waiting
from backend.handoff.effects import emit
from backend.handoff.messages import add_message, read_text
from backend.handoff.models import HandoffMessage, HandoffRequest
from backend.handoff.pictures import FILENAMES, read_picture
from backend.hooks import JobContext, JobRow, RetryLater

log = logging.getLogger(__name__)

WINDOW = dt.timedelta(hours=48)
PER_CUSTOMER_MESSAGE = 5  # customer-service messages WeChat allows after one customer message (45047)
REASON_WINDOW = "超过48小时，客户没再发消息，不能再发客服消息（可以打电话或发短信）"
REASON_QUOTA = "客户上次发消息后已经回了5条，等客户再发消息才能发（可以打电话）"
REASON_REFUSED = "微信拒收（客户可能取消关注了）"
REASON_NO_WECHAT = "没有配置微信接口"
REASON_NO_FILE = "图片文件不见了，请重新发送"


# --- SLA timers ------------------------------------------------------------------------------------


def run_sla(ctx: JobContext, session: Session, job: JobRow) -> None:
    """warn: supervisors alerted; breach: recorded, escalated, the customer offered a call-back once;
    next: an agent has not answered a later customer message in time. Nothing when already answered."""
    row = session.get(HandoffRequest, int(job.payload["handoff_id"]))
    stage = str(job.payload["stage"])
    if row is None or row.status == "closed":
        return
    now = ctx.now()
    if stage == "next":
        if row.waiting_since is None or row.waiting_since.isoformat() != job.payload.get("since"):
            return
        record_event(
            session,
            actor="system",
            action="handoff.next_response_breach",
            object_type="handoff",
            object_id=row.id,
            at=now,
        )
        emit(
            session,
            ctx.redis,
            "handoff.sla_breach",
            {"handoff_id": row.id, "kind": "next_response", "agent_id": row.agent_id},
        )
        return
    if row.first_response_at is not None:
        return
    if stage == "warn":
        record_event(
            session,
            actor="system",
            action="handoff.sla_warning",
            object_type="handoff",
            object_id=row.id,
            at=now,
        )
        emit(session, ctx.redis, "handoff.sla_warning", {"handoff_id": row.id, "status": row.status})
        return
    if row.breached_at is not None:
        return
    row.breached_at, row.escalated, row.updated_at = now, True, now
    add_message(
        session,
        row=row,
        direction="system",
        text=copy.text("handoff_breach_offer"),
        cipher=ctx.cipher,
        now=now,
        deliver=True,
    )
    record_event(
        session, actor="system", action="handoff.sla_breach", object_type="handoff", object_id=row.id, at=now
    )
    emit(
        session,
        ctx.redis,
        "handoff.sla_breach",
        {"handoff_id": row.id, "kind": "first_response", "status": row.status},
    )


# --- delivery --------------------------------------------------------------------------------------


def _last_customer_at(session: Session, row: HandoffRequest) -> dt.datetime:
    last = session.scalar(
        select(func.max(HandoffMessage.created_at)).where(
            HandoffMessage.handoff_id == row.id, HandoffMessage.direction == "customer"
        )
    )
    start = row.queued_at or row.created_at
    return max(last, start) if last is not None else start


def _sent_since(session: Session, row: HandoffRequest, since: dt.datetime, msg_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(HandoffMessage)
            .where(
                HandoffMessage.handoff_id == row.id,
                HandoffMessage.delivery == "sent",
                HandoffMessage.direction.in_(("agent", "system")),
                HandoffMessage.created_at >= since,
                HandoffMessage.id != msg_id,
            )
        )
        or 0
    )


def window_state(session: Session, row: HandoffRequest, now: dt.datetime, *, msg_id: int = 0) -> str | None:
    """Why a WeChat customer-service message cannot go out now (the console shows it), or None."""
    since = _last_customer_at(session, row)
    if now - since > WINDOW:
        return REASON_WINDOW
    if _sent_since(session, row, since, msg_id) >= PER_CUSTOMER_MESSAGE:
        return REASON_QUOTA
    return None


def _fail(session: Session, ctx: JobContext, msg: HandoffMessage, reason: str) -> None:
    msg.delivery, msg.delivery_error = "failed", reason[:200]
    session.flush()
    emit(
        session,
        ctx.redis,
        "handoff.message",
        {
            "handoff_id": msg.handoff_id,
            "message_id": msg.id,
            "delivery": "failed",
            "error": msg.delivery_error,
        },
    )


def run_deliver(ctx: JobContext, session: Session, job: JobRow) -> None:
    """One agent or system message to the customer: the web chat page reads it from the table; an
    official-account customer gets it through the customer-service message API, inside the 48-hour
    window and the 5-per-customer-message allowance."""
    msg = session.get(HandoffMessage, int(job.payload["message_id"]))
    if msg is None or msg.delivery != "pending":
        return
    row = session.get(HandoffRequest, msg.handoff_id)
    if row is None:
        return
    now = ctx.now()
    if row.channel != "official_account":
        msg.delivery = "sent"
        session.flush()
        emit(
            session,
            ctx.redis,
            "handoff.message",
            {"handoff_id": row.id, "message_id": msg.id, "delivery": "sent"},
        )
        return
    blocked = window_state(session, row, now, msg_id=msg.id)
    if blocked:
        _fail(session, ctx, msg, blocked)
        return
    gateway = ctx.services.get("wechat")
    if gateway is None:
        _fail(session, ctx, msg, REASON_NO_WECHAT)
        return
    try:
        _send(ctx, gateway, row, msg)
    except WechatUnreachable as exc:
        reason = {45015: REASON_WINDOW, 45047: REASON_QUOTA}.get(exc.errcode or 0, REASON_REFUSED)
        _fail(session, ctx, msg, f"{reason}（{exc.errcode}）")
        return
    except NotFound:  # the picture's file is gone (deleted by retention, or a lost disk)
        _fail(session, ctx, msg, REASON_NO_FILE)
        return
    except WechatQuotaExceeded as exc:
        raise RetryLater(ctx.now() + dt.timedelta(seconds=60), reason=f"quota {exc.errcode}") from None
    except WechatApiError as exc:
        if exc.errcode is None or exc.errcode == -1:
            raise  # transient: the job retries with backoff
        _fail(session, ctx, msg, f"微信接口出错（{exc.errcode}）")
        return
    msg.delivery = "sent"
    session.flush()
    emit(
        session,
        ctx.redis,
        "handoff.message",
        {"handoff_id": row.id, "message_id": msg.id, "delivery": "sent"},
    )


def _send(ctx: JobContext, gateway: Any, row: HandoffRequest, msg: HandoffMessage) -> None:
    """One customer-service message: text, or a picture uploaded as temporary media first (the
    upload is not a customer-service message; the image message counts like a text)."""
    if msg.kind != "image":
        gateway.send_text(row.user_id, read_text(msg, cipher=ctx.cipher))
        return
    store = ctx.services.get("storage")
    if store is None or msg.attachment_key is None:
        raise RetryLater(ctx.now() + dt.timedelta(seconds=60), reason="file store not configured")
    ctype = msg.attachment_type or "image/jpeg"
    media_id = gateway.upload_image(read_picture(store, msg), filename=FILENAMES.get(ctype, "picture.jpg"),
                                    content_type=ctype)
    gateway.send_image(row.user_id, media_id)


def dead_deliver(ctx: JobContext, session: Session, job: JobRow) -> None:
    msg = session.get(HandoffMessage, int(job.payload["message_id"]))
    if msg is not None and msg.delivery == "pending":
        _fail(session, ctx, msg, "多次发送失败，请稍后再试或打电话")


# --- work items and assignment -----------------------------------------------------------------------


def run_work_item(ctx: JobContext, session: Session, job: JobRow) -> None:
    """A message or call-back left outside hours falls due: shown to the console as a queued item."""
    row = session.get(HandoffRequest, int(job.payload["handoff_id"]))
    if row is not None and row.status == "queued":
        emit(
            session,
            ctx.redis,
            "handoff.queued",
            {"handoff_id": row.id, "reason": row.reason, "skill_group": row.skill_group},
        )


def run_assign(ctx: JobContext) -> int:
    """Periodic automatic assignment (also run after enqueue, close and state changes)."""
    with session_scope(ctx.sessions) as session:
        return len(assign_waiting(session, ctx.redis, ctx.now()))
