"""Handoff requests: record that a customer needs a person; one open request per conversation."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging

import redis
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.db import utcnow
from backend.errors import ServiceError
from backend.handoff.ages import known_age
from backend.handoff.models import (
    OPEN_STATUSES,
    PURPOSE_PAYLOAD,
    PURPOSE_SUMMARY,
    REASONS,
    WORK_ITEM_REASONS,
    HandoffRequest,
)
from backend.handoff.queue import arm_sla, priority_of, skill_group_of
from backend.security.crypto import FieldCipher
from backend.security.masking import scrub_text

_SUMMARY_MAX = 500
SNIPPET_CHARS = 16
log = logging.getLogger(__name__)

# Conversations a person has taken over, mirrored in Redis (the database stays the truth) so the
# webhook's fast path learns it in the same round trip as its dedupe claim, without a select.
AGENT_OWNED_KEY = "handoff:agent-owned"


@functools.lru_cache(maxsize=16384)  # a conversation is several messages: computed once for them
def conversation_digest(channel: str, user_id: str) -> str:
    """A conversation's id in Redis keys and sets (the openid itself is not stored there)."""
    return hashlib.sha256(f"{channel}\x00{user_id}".encode()).hexdigest()[:32]


# Statements built once: the dialogue engine asks on every turn, and building a statement costs more
# than running it (measured with tests/bench/bench_webhook.py).
_OPEN_HANDOFF = (
    select(HandoffRequest)
    .where(
        HandoffRequest.channel == bindparam("channel"),
        HandoffRequest.user_id == bindparam("user_id"),
        HandoffRequest.status.in_(OPEN_STATUSES),
        HandoffRequest.reason.not_in(WORK_ITEM_REASONS),
    )
    .order_by(HandoffRequest.id.desc())
    .limit(1)
)
_AGENT_OWNS = (
    select(HandoffRequest.id)
    .where(
        HandoffRequest.channel == bindparam("channel"),
        HandoffRequest.user_id == bindparam("user_id"),
        HandoffRequest.status == "agent",
        HandoffRequest.reason.not_in(WORK_ITEM_REASONS),  # a work item taken by staff: the bot talks on
    )
    .limit(1)
)


def open_handoff(session: Session, *, channel: str, user_id: str) -> HandoffRequest | None:
    """The customer's open (queued or taken) conversation handoff, if any."""
    return session.scalars(_OPEN_HANDOFF, {"channel": channel, "user_id": user_id}).first()


def agent_owns_conversation(session: Session, *, channel: str, user_id: str) -> bool:
    """True while a person has taken over this customer's conversation (the bot stays quiet)."""
    found = session.execute(_AGENT_OWNS, {"channel": channel, "user_id": user_id}).first()
    return found is not None


def _agent_owned_members(session: Session) -> list[str]:
    rows = session.execute(
        select(HandoffRequest.channel, HandoffRequest.user_id).where(
            HandoffRequest.status == "agent", HandoffRequest.reason.not_in(WORK_ITEM_REASONS)))
    return sorted({conversation_digest(channel, user_id) for channel, user_id in rows})


def mirror_agent_owned(session: Session, client: redis.Redis) -> int:
    """Rebuild the Redis mirror of agent-owned conversations from the database; returns its size.

    Built under a temporary key and renamed over the old one, so readers never see it half-built.
    Run at start-up and periodically by the worker; :func:`set_agent_owned` updates it at once.
    """
    members = _agent_owned_members(session)
    tmp = f"{AGENT_OWNED_KEY}:building"
    pipe = client.pipeline(transaction=True)
    pipe.delete(tmp)
    if members:
        pipe.sadd(tmp, *members)
        pipe.rename(tmp, AGENT_OWNED_KEY)
    else:
        pipe.delete(AGENT_OWNED_KEY)
    pipe.execute()
    return len(members)


def set_agent_owned(client: redis.Redis, *, channel: str, user_id: str, owned: bool) -> None:
    """Update the mirror for one conversation (call after the status change committed)."""
    member = conversation_digest(channel, user_id)
    try:
        if owned:
            client.sadd(AGENT_OWNED_KEY, member)
        else:
            client.srem(AGENT_OWNED_KEY, member)
    except redis.RedisError as exc:  # the periodic mirror repairs it
        log.warning("agent-owned mirror not updated: %s", type(exc).__name__)


def request_handoff(
    session: Session,
    *,
    channel: str,
    user_id: str,
    reason: str,
    flow: str | None = None,
    summary: str = "",
    private_values: tuple[str, ...] | list[str] = (),
    cipher: FieldCipher,
    payload: dict[str, str] | None = None,
    now: dt.datetime | None = None,
    intent: str | None = None,
    age: int | None = None,
    opens_at: dt.datetime | None = None,
) -> HandoffRequest:
    """Queue a request for a person; an open conversation handoff is reused, not duplicated.

    A conversation request gets its place in the queue: ``queued_at`` (the SLA clock starts here),
    priority (hurt now > complaint > aged 80+ (``age``, or from the roster when the customer proved who
    they are: :func:`backend.handoff.ages.known_age`) > others), skill
    group (from the reason, flow and intent), and its 2- and 3-minute timers (job rows). Asked outside
    service hours (``opens_at``: the next opening, :func:`backend.handoff.queue.opening`), it waits
    from the opening: the timers count from then.

    The summary is stored encrypted (numbers and ``private_values`` masked first), with a short masked
    snippet for lists (:func:`summary_snippet`); :func:`read_summary` gives it back to staff tools.
    """
    if reason not in REASONS:
        raise ServiceError("bad_handoff_reason", "转人工的原因不对", detail={"reason": reason})
    at = now or utcnow()
    work_item = reason in WORK_ITEM_REASONS
    if age is None and not work_item:
        age = known_age(session, channel=channel, user_id=user_id, at=at)
    if not work_item:
        existing = open_handoff(session, channel=channel, user_id=user_id)
        if existing is not None:
            existing.updated_at = at
            raised = priority_of(reason, age=age)
            if existing.status == "queued" and raised < existing.priority:  # a complaint or an injury
                existing.priority = raised                                  # while waiting moves it up
                _audit(session, existing, "handoff.priority_raised", at, reason)
            session.flush()
            return existing
    masked = scrub_text(summary[:_SUMMARY_MAX], private_values=private_values)
    row = HandoffRequest(
        channel=channel,
        user_id=user_id,
        reason=reason,
        status="queued",
        flow=flow,
        summary_enc=cipher.encrypt(masked, purpose=PURPOSE_SUMMARY) if masked else None,
        summary_snippet=summary_snippet(masked),
        payload_enc=(
            cipher.encrypt(json.dumps(payload, ensure_ascii=False), purpose=PURPOSE_PAYLOAD)
            if payload else None
        ),
        created_at=at,
        updated_at=at,
        queued_at=max(at, opens_at) if opens_at else at,
        priority=priority_of(reason, age=age),
        skill_group=skill_group_of(reason, flow=flow, intent=intent),
    )
    session.add(row)
    session.flush()
    _audit(session, row, "handoff.work_item" if work_item else "handoff.queued", at, reason)
    if not work_item:
        arm_sla(session, row)
    return row


def _audit(session: Session, row: HandoffRequest, action: str, at: dt.datetime, reason: str) -> None:
    """The customer's side of the state changes (bot → queued, a work item left, a priority raised)."""
    record_event(session, actor="customer", action=action, object_type="handoff", object_id=row.id, at=at,
                 purpose=reason)


def summary_snippet(masked_summary: str) -> str:
    """The first few characters of a masked summary, for a queue list (the rest only decrypted)."""
    text = " ".join(masked_summary.split())
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "…"


def read_summary(row: HandoffRequest, *, cipher: FieldCipher) -> str:
    """Decrypt a request's summary (for staff tools; numbers in it stay masked)."""
    return cipher.decrypt(row.summary_enc, purpose=PURPOSE_SUMMARY) if row.summary_enc else ""


def read_payload(row: HandoffRequest, *, cipher: FieldCipher) -> dict[str, str]:
    """Decrypt a request's private payload (for staff tools)."""
    if not row.payload_enc:
        return {}
    data: dict[str, str] = json.loads(cipher.decrypt(row.payload_enc, purpose=PURPOSE_PAYLOAD))
    return data
