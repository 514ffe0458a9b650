"""The messages of a handoff: stored encrypted, read back, listed in order, and queued for delivery to
the customer (``handoff.deliver``). Who may write them, and what a reply or a note does to the chat's
timers, is the console's (``backend/handoff/console.py``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import ServiceError
from backend.handoff.models import PURPOSE_MESSAGE, HandoffMessage, HandoffRequest
from backend.jobs import service as jobs
from backend.security.crypto import FieldCipher

DELIVER_KIND = "handoff.deliver"
MAX_TEXT = 2000


def add_message(
    session: Session,
    *,
    row: HandoffRequest,
    direction: str,
    text: str,
    cipher: FieldCipher,
    now: dt.datetime,
    staff_id: int | None = None,
    deliver: bool = False,
    kind: str = "text",
    attachment: tuple[str, str] | None = None,
) -> HandoffMessage:
    """Store one message (encrypted); ``deliver``: queue it for the customer (``handoff.deliver``);
    ``attachment``: a picture's file-store key and content type (``kind="image"``)."""
    msg = HandoffMessage(
        handoff_id=row.id,
        direction=direction,
        staff_id=staff_id,
        text_enc=cipher.encrypt(text, purpose=PURPOSE_MESSAGE),
        created_at=now,
        delivery="pending" if deliver else "n/a",
        kind=kind,
        attachment_key=attachment[0] if attachment else None,
        attachment_type=attachment[1] if attachment else None,
    )
    session.add(msg)
    session.flush()
    if deliver:
        jobs.schedule(
            session,
            kind=DELIVER_KIND,
            key=str(msg.id),
            due_at=now,
            payload={"message_id": msg.id},
            replace=False,
            now=now,
        )
    return msg


def read_text(msg: HandoffMessage, *, cipher: FieldCipher) -> str:
    """The message in clear (staff see it masked: ``console_views``)."""
    return cipher.decrypt(msg.text_enc, purpose=PURPOSE_MESSAGE)


def history(session: Session, handoff_id: int) -> list[HandoffMessage]:
    """The handoff's messages, oldest first."""
    return list(session.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == handoff_id)
                                .order_by(HandoffMessage.created_at, HandoffMessage.id)))


def clean_text(text: str) -> str:
    """What staff typed, trimmed; empty or too long is refused in plain Chinese."""
    text = text.strip()
    if not text:
        raise ServiceError("empty_text", "内容不能为空")
    if len(text) > MAX_TEXT:
        raise ServiceError("text_too_long", f"内容太长了，最多{MAX_TEXT}字", detail={"max": MAX_TEXT})
    return text
