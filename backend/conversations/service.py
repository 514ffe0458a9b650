"""Conversation rows the webhook writes: inbox rows (stored answers), turn rows, template receipts and
unreachable users (callers own the transaction)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.conversations.models import (
    INBOUND_PURPOSE,
    REPLY_PURPOSE,
    WechatInbox,
    WechatTemplateReceipt,
    WechatUnreachable,
)
from backend.conversations.turn_models import PURPOSE_REPLY_TEXT, PURPOSE_USER_TEXT, ConversationTurn
from backend.conversations.turns import REPLY_MAX, TEXT_MAX
from backend.db import utcnow
from backend.security.crypto import FieldCipher
from backend.security.masking import scrub_slots, scrub_text

__all__ = [  # the purposes too: bot/ encrypts the message text and the stored answer with them
    "INBOUND_PURPOSE", "REPLY_PURPOSE", "inbox_row", "insert_inbox", "insert_rows", "insert_turn",
    "record_template_receipt", "record_unreachable", "set_delivery", "stored_reply", "turn_row",
]

_INBOX = WechatInbox.__table__
# Built once: executing a prepared statement with a parameter dict skips SQLAlchemy's per-call
# statement construction and cache-key work (the compiled form is cached by the engine).
_STORED_REPLY = select(_INBOX.c.status, _INBOX.c.reply_enc).where(_INBOX.c.msg_key == bindparam("msg_key"))
_INSERT_INBOX = insert(cast(Table, WechatInbox.__table__))  # Core: no ORM flush or bulk path


def stored_reply(session: Session | Connection, *, msg_key: str) -> tuple[str, str | None] | None:
    """(status, encrypted answer) of a message already processed, or None (one Core select)."""
    row = session.execute(_STORED_REPLY, {"msg_key": msg_key}).first()
    return None if row is None else (row[0], row[1])


def inbox_row(
    *, msg_key: str, openid: str, msg_type: str, event: str | None, content_enc: str | None,
    reply_enc: str | None, delivery: str, channel: str = "official_account", at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The inbox row marking a message processed with its (already encrypted) answer (``at``: when,
    by the caller's clock; now by default)."""
    now = at or utcnow()
    return {
        "msg_key": msg_key, "channel": channel, "openid": openid, "msg_type": msg_type, "event": event,
        "status": "done", "delivery": delivery, "received_at": now, "completed_at": now,
        "content_enc": content_enc, "reply_enc": reply_enc,
    }


def insert_inbox(session: Session, **values: Any) -> None:
    """Insert :func:`inbox_row` (same keywords) in the turn's transaction.

    A plain Core insert, no savepoint: a duplicate raises IntegrityError and the caller rolls the
    whole turn back (a concurrent copy won).
    """
    session.execute(_INSERT_INBOX, inbox_row(**values))


def set_delivery(session: Session, *, msg_key: str, delivery: str) -> None:
    """How the answer really went out, once known after the commit (``custom_service`` when the
    customer-service API replaced a passive reply WeChat no longer read, ``undelivered``)."""
    session.execute(update(WechatInbox).where(WechatInbox.msg_key == msg_key).values(delivery=delivery))


_INSERT_TURN = insert(cast(Table, ConversationTurn.__table__))


def turn_row(
    *, cipher: FieldCipher, channel: str, user_id: str, msg_key: str, kind: str, text: str,
    intent: str | None, confidence: float | None, slots: Mapping[str, Any], flow: str | None,
    step: str | None, reply_text: str, private_values: Iterable[str] = (), degraded: bool = False,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The conversation-turn row: text, reply and slots with private values masked, truncated; the two
    texts encrypted (names, health details and complaints stay in them, D-01)."""
    values = list(private_values)
    user_text = scrub_text(text[: TEXT_MAX * 2], private_values=values)[:TEXT_MAX]
    reply = scrub_text(reply_text, private_values=values)[:REPLY_MAX]
    return {
        "channel": channel, "user_id": user_id, "msg_key": msg_key or None, "at": at or utcnow(),
        "kind": kind,
        "user_text_enc": cipher.encrypt(user_text, purpose=PURPOSE_USER_TEXT) if user_text else None,
        "intent": intent, "confidence": None if confidence is None else round(float(confidence), 4),
        "slots": scrub_slots(slots), "flow": flow, "step": step,
        "reply_text_enc": cipher.encrypt(reply, purpose=PURPOSE_REPLY_TEXT) if reply else None,
        "degraded": degraded,
    }


def insert_turn(session: Session, **values: Any) -> None:
    """:func:`turn_row` (same keywords) as one prepared Core insert (no ORM flush)."""
    session.execute(_INSERT_TURN, turn_row(**values))


def insert_rows(connection: Connection, *, turns: list[dict[str, Any]], inbox: list[dict[str, Any]]) -> None:
    """Many turn and inbox rows in the caller's transaction (executemany: the webhook's group commit)."""
    if turns:
        connection.execute(_INSERT_TURN, turns)
    if inbox:
        connection.execute(_INSERT_INBOX, inbox)


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
