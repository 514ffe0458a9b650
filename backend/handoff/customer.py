"""The customer's side of a handoff: messages while queued or with an agent, leaving the queue (取消),
the wait told once, a message or call-back left outside service hours, and the 1–5 rating."""

from __future__ import annotations

import datetime as dt

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.calendar.service import WorkingCalendar
from backend.handoff import copy
from backend.handoff.effects import emit
from backend.handoff.messages import add_message
from backend.handoff.models import WORK_ITEM_REASONS, HandoffRequest
from backend.handoff.queue import (
    SLA_KIND,
    WORK_ITEM_KIND,
    estimate_wait,
    in_service_hours,
    load_config,
    next_service_start,
    position,
)
from backend.handoff.service import open_handoff, request_handoff, summary_snippet
from backend.jobs import service as jobs
from backend.security.crypto import FieldCipher
from backend.security.masking import scrub_text

OFFER_ABOVE_S = 180  # offer a message or call-back when the upper bound exceeds 3 minutes


def customer_message(
    session: Session,
    *,
    channel: str,
    user_id: str,
    text: str,
    now: dt.datetime,
    cipher: FieldCipher,
    redis: redis.Redis | None = None,
) -> HandoffRequest | None:
    """A customer message while queued or with an agent: stored for the agent (unread + 1); with an
    agent, the next-response clock starts at the first unanswered message. None when no open chat."""
    row = open_handoff(session, channel=channel, user_id=user_id)
    if row is None:
        return None
    msg = add_message(session, row=row, direction="customer", text=text[:2000], cipher=cipher, now=now)
    row.unread += 1
    row.updated_at = now
    if row.status == "agent" and row.waiting_since is None and row.first_response_at is not None:
        row.waiting_since = now
        jobs.schedule(
            session,
            kind=SLA_KIND,
            key=f"{row.id}:next:{msg.id}",
            due_at=now + dt.timedelta(seconds=load_config().next_response_s),
            payload={"handoff_id": row.id, "stage": "next", "since": now.isoformat()},
            now=now,
        )
    session.flush()
    emit(
        session,
        redis,
        "handoff.message",
        {
            "handoff_id": row.id,
            "message_id": msg.id,
            "direction": "customer",
            "snippet": summary_snippet(scrub_text(text[:200])),
        },
    )
    return row


def cancel_by_customer(
    session: Session, *, channel: str, user_id: str, now: dt.datetime, redis: redis.Redis | None = None
) -> HandoffRequest | None:
    """取消 while queued: the request is closed (disposition ``cancelled``) and the bot talks again.
    With an agent already, nothing changes (the agent closes). None when there was nothing to cancel."""
    row = open_handoff(session, channel=channel, user_id=user_id)
    if row is None or row.status != "queued":
        return None
    row.status, row.closed_at, row.disposition, row.updated_at = "closed", now, "cancelled", now
    for stage in ("warn", "breach"):
        jobs.cancel(session, kind=SLA_KIND, key=f"{row.id}:{stage}", now=now)
    session.flush()
    record_event(
        session, actor="customer", action="handoff.cancel", object_type="handoff", object_id=row.id, at=now
    )
    emit(session, redis, "handoff.closed", {"handoff_id": row.id, "disposition": "cancelled"})
    return row


def wait_message(
    session: Session, redis_client: redis.Redis, row: HandoffRequest, now: dt.datetime
) -> str | None:
    """What to tell a newly queued customer, once: position and an honest range, and the offer of a
    message or call-back when the upper bound is over 3 minutes. None when already told."""
    if row.status != "queued" or row.told_high_s is not None:
        return None
    low, high = estimate_wait(session, redis_client, row, now)
    row.told_low_s, row.told_high_s = low, high
    session.flush()
    ahead = position(session, row) - 1
    if high <= 60:
        sentence = copy.text("handoff_wait_soon")
    elif ahead <= 0:
        sentence = copy.text("handoff_wait_first", low=max(1, low // 60), high=high // 60)
    else:
        sentence = copy.text("handoff_wait_range", ahead=ahead, low=max(1, low // 60), high=high // 60)
    if high > OFFER_ABOVE_S:
        sentence += "\n" + copy.text("handoff_wait_offer")
    return sentence


def outside_hours_message(now: dt.datetime, calendar: WorkingCalendar | None) -> str:
    cfg = load_config()
    start = next_service_start(now, calendar)
    local = start.astimezone(dt.timezone(dt.timedelta(hours=8)))
    hours = f"{local.month}月{local.day}日{cfg.start.hour}点{'半' if cfg.start.minute == 30 else ''}"
    return copy.text("handoff_closed_hours", hours=hours)


def leave_callback(
    session: Session,
    *,
    channel: str,
    user_id: str,
    now: dt.datetime,
    cipher: FieldCipher,
    calendar: WorkingCalendar | None,
    summary: str = "",
) -> HandoffRequest:
    """A message or call-back request: a work item for staff, due the next working morning when left
    outside service hours (a job row then publishes it to the console); for the skill group of the
    customer's open chat, if any (general otherwise)."""
    chat = open_handoff(session, channel=channel, user_id=user_id)
    row = request_handoff(
        session, channel=channel, user_id=user_id, reason="callback", summary=summary, cipher=cipher, now=now
    )
    if chat is not None:
        row.skill_group = chat.skill_group
    # inside the hours at once (``next_service_start`` alone would be the next morning's 08:30)
    due = now if in_service_hours(now, calendar) else next_service_start(now, calendar)
    jobs.schedule(
        session,
        kind=WORK_ITEM_KIND,
        key=str(row.id),
        due_at=max(due, now),
        payload={"handoff_id": row.id},
        now=now,
    )
    record_event(
        session, actor="customer", action="handoff.callback", object_type="handoff", object_id=row.id, at=now
    )
    return row


def rate(
    session: Session,
    *,
    channel: str,
    user_id: str,
    score: int,
    now: dt.datetime,
    cipher: FieldCipher,
    redis: redis.Redis | None = None,
) -> bool:
    """A 1–5 answer to the satisfaction question of the customer's last closed chat (within the rating
    window, once), recorded against its agent; 1–2 creates a follow-up item for a supervisor."""
    if not 1 <= score <= 5:
        return False
    window = dt.timedelta(seconds=load_config().rating_window_s)
    row = session.scalars(
        select(HandoffRequest)
        .where(
            HandoffRequest.channel == channel,
            HandoffRequest.user_id == user_id,
            HandoffRequest.status == "closed",
            HandoffRequest.agent_id.is_not(None),
            HandoffRequest.reason.not_in(WORK_ITEM_REASONS),  # a finished work item is not rated
            HandoffRequest.closed_at >= now - window,
        )
        .order_by(HandoffRequest.closed_at.desc())
        .limit(1)
    ).first()
    if row is None or row.rating is not None or row.disposition == "cancelled":
        return False
    row.rating, row.rated_at, row.updated_at = score, now, now
    session.flush()
    record_event(
        session, actor="customer", action="handoff.rate", object_type="handoff", object_id=row.id, at=now
    )
    if score <= 2:
        item = request_handoff(
            session,
            channel=channel,
            user_id=user_id,
            reason="follow_up",
            summary=f"客户打了{score}分（会话{row.id}，客服{row.agent_id}）",
            payload={"rated_handoff_id": str(row.id), "agent_id": str(row.agent_id)},
            cipher=cipher,
            now=now,
        )
        item.skill_group, item.priority = "complaints", 1
        session.flush()
    emit(session, redis, "handoff.rated", {"handoff_id": row.id, "agent_id": row.agent_id, "rating": score})
    return True
