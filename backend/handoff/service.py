"""Handoff requests: record that a customer needs a person; one open request per conversation."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.errors import ServiceError
from backend.handoff.models import OPEN_STATUSES, PURPOSE_PAYLOAD, REASONS, HandoffRequest
from backend.security.crypto import FieldCipher

_SUMMARY_MAX = 500


# Statements built once: the dialogue engine asks on every turn, and building a statement costs more
# than running it (measured with tests/bench/bench_webhook.py).
_OPEN_HANDOFF = (
    select(HandoffRequest)
    .where(
        HandoffRequest.channel == bindparam("channel"),
        HandoffRequest.user_id == bindparam("user_id"),
        HandoffRequest.status.in_(OPEN_STATUSES),
        HandoffRequest.reason != "info_update",
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


def request_handoff(
    session: Session,
    *,
    channel: str,
    user_id: str,
    reason: str,
    flow: str | None = None,
    summary: str = "",
    cipher: FieldCipher | None = None,
    payload: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> HandoffRequest:
    """Queue a request for a person; an open conversation handoff is reused, not duplicated."""
    if reason not in REASONS:
        raise ServiceError("bad_handoff_reason", "转人工的原因不对", detail={"reason": reason})
    if payload and cipher is None:
        raise ServiceError("handoff_payload_needs_cipher", "系统出了点问题，请稍后再试")
    at = now or utcnow()
    if reason != "info_update":
        existing = open_handoff(session, channel=channel, user_id=user_id)
        if existing is not None:
            existing.updated_at = at
            session.flush()
            return existing
    row = HandoffRequest(
        channel=channel,
        user_id=user_id,
        reason=reason,
        status="queued",
        flow=flow,
        summary=summary[:_SUMMARY_MAX],
        payload_enc=(
            cipher.encrypt(json.dumps(payload, ensure_ascii=False), purpose=PURPOSE_PAYLOAD)
            if payload and cipher is not None
            else None
        ),
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    session.flush()
    return row


def read_payload(row: HandoffRequest, *, cipher: FieldCipher) -> dict[str, str]:
    """Decrypt a request's private payload (for staff tools)."""
    if not row.payload_enc:
        return {}
    data: dict[str, str] = json.loads(cipher.decrypt(row.payload_enc, purpose=PURPOSE_PAYLOAD))
    return data
