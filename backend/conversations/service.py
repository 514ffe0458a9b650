"""Inbox and turn-log services for the WeChat webhook (callers own the transaction)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.conversations.models import (
    WebhookTurn,
    WechatInbox,
    WechatTemplateReceipt,
    WechatUnreachable,
)
from backend.db import utcnow
from backend.security.crypto import FieldCipher

INBOUND_PURPOSE = "conversation.inbound"
REPLY_PURPOSE = "conversation.reply"


def encrypt_replies(*, cipher: FieldCipher, replies: dict[str, object]) -> str:
    """The stored answer as encrypted JSON."""
    return cipher.encrypt(json.dumps(replies, ensure_ascii=False), purpose=REPLY_PURPOSE)


def decrypt_replies(*, cipher: FieldCipher, token: str | None) -> dict[str, object]:
    """The answer stored by :func:`encrypt_replies` (empty when none)."""
    if not token:
        return {}
    value: dict[str, object] = json.loads(cipher.decrypt(token, purpose=REPLY_PURPOSE))
    return value


def get_inbox(session: Session, *, msg_key: str) -> WechatInbox | None:
    """The inbox row of this message, if it was received before."""
    return session.scalars(select(WechatInbox).where(WechatInbox.msg_key == msg_key)).first()


def claim_inbox(
    session: Session, *, cipher: FieldCipher, msg_key: str, openid: str, msg_type: str,
    event: str | None, content: str, channel: str = "official_account",
    replies: dict[str, object] | None = None, delivery: str = "none",
) -> WechatInbox | None:
    """Insert the message (``processing``, or ``done`` with its answer); None when it is a duplicate."""
    now = utcnow()
    row = WechatInbox(
        msg_key=msg_key, channel=channel, openid=openid, msg_type=msg_type, event=event,
        status="processing" if replies is None else "done", received_at=now, delivery=delivery,
        content_enc=cipher.encrypt(content, purpose=INBOUND_PURPOSE) if content else None,
        reply_enc=None if replies is None else encrypt_replies(cipher=cipher, replies=replies),
        completed_at=None if replies is None else now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def complete_inbox(
    session: Session, *, cipher: FieldCipher, inbox: WechatInbox,
    replies: dict[str, object], status: str = "done", delivery: str = "passive",
) -> None:
    """Store the answer of a message (a retry of the same message gets the same answer)."""
    session.execute(
        update(WechatInbox).where(WechatInbox.id == inbox.id).values(
            status=status, delivery=delivery, completed_at=utcnow(),
            reply_enc=encrypt_replies(cipher=cipher, replies=replies),
        )
    )


def record_turn(
    session: Session, *, cipher: FieldCipher, channel: str, user_id: str, inbox_id: int | None,
    inbound_kind: str, inbound_text: str, reply_texts: list[str], duration_ms: int,
) -> WebhookTurn:
    """Append one dialogue turn to the log."""
    turn = WebhookTurn(
        channel=channel, user_id=user_id, inbox_id=inbox_id, inbound_kind=inbound_kind,
        inbound_enc=cipher.encrypt(inbound_text, purpose=INBOUND_PURPOSE) if inbound_text else "",
        replies_enc=cipher.encrypt("\n".join(reply_texts), purpose=REPLY_PURPOSE) if reply_texts else "",
        duration_ms=duration_ms, created_at=utcnow(),
    )
    session.add(turn)
    session.flush()
    return turn


def count_turns(session: Session, *, user_id: str) -> int:
    """How many turns this user has had."""
    return len(session.scalars(select(WebhookTurn.id).where(WebhookTurn.user_id == user_id)).all())


def record_template_receipt(
    session: Session, *, template_msgid: str, openid: str, status: str, received_at: dt.datetime,
) -> bool:
    """Store a template delivery receipt once; False when it was already stored."""
    row = WechatTemplateReceipt(template_msgid=template_msgid, openid=openid, status=status[:64],
                                received_at=received_at)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def record_unreachable(session: Session, *, openid: str, errcode: int) -> WechatUnreachable:
    """Record that WeChat refused a message to this user (reach them another way later)."""
    row = WechatUnreachable(openid=openid, errcode=errcode, recorded_at=utcnow())
    session.add(row)
    session.flush()
    return row


def resolve_unreachable(session: Session, *, openid: str) -> None:
    """The user wrote again: their 48-hour window is open."""
    session.execute(
        update(WechatUnreachable)
        .where(WechatUnreachable.openid == openid, WechatUnreachable.resolved_at.is_(None))
        .values(resolved_at=utcnow())
    )


def open_unreachable(session: Session, *, openid: str) -> list[WechatUnreachable]:
    """Unresolved unreachable records of this user."""
    return list(session.scalars(
        select(WechatUnreachable).where(WechatUnreachable.openid == openid,
                                        WechatUnreachable.resolved_at.is_(None))
    ).all())
