"""The web chat channel's reading side: one customer's lines after a cursor.

The customer's messages and the bot's answers are the channel's inbox rows (``wechat_inbox``, written
with each turn by the engine's chat runner); agents' replies (texts and pictures) and system lines (the
wait, the rating question) are ``handoff_messages`` of the customer's handoff requests once delivered
(``sent``: the deliver job marks them for this channel). A cursor is
``"<inbox id>.<handoff message id>"``, the last row of each that the page has seen.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.conversations.models import INBOUND_PURPOSE, REPLY_PURPOSE, WechatInbox
from backend.db import MAX_INTEGER
from backend.errors import ServiceError
from backend.handoff.models import PURPOSE_MESSAGE, HandoffMessage, HandoffRequest
from backend.security.crypto import FieldCipher
from backend.webchat import copy

CHANNEL = "web"
MAX_TEXT = 500
PAGE_ROWS = 100  # rows of each source per answer (the cursor takes the page on from there)
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_COOKIE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
_CURSOR = re.compile(r"^(\d{1,18})\.(\d{1,18})$")
_SHOWN = ("agent", "system")


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last inbox row and the last handoff message the page has."""

    inbox: int = 0
    handoff: int = 0

    def __str__(self) -> str:
        return f"{self.inbox}.{self.handoff}"


def parse_cursor(raw: str | None) -> Cursor:
    """The cursor of a poll (none: from the start); a malformed one is a 400."""
    if not raw:
        return Cursor()
    match = _CURSOR.match(raw)
    if match is None:
        raise ServiceError("bad_cursor", copy.BAD_CURSOR)
    inbox_id, message_id = int(match[1]), int(match[2])
    if inbox_id > MAX_INTEGER or message_id > MAX_INTEGER:  # past any row id: PostgreSQL would refuse it
        raise ServiceError("bad_cursor", copy.BAD_CURSOR)
    return Cursor(inbox_id, message_id)


def valid_cookie(value: str | None) -> bool:
    """True for a chat cookie the page could have been given."""
    return bool(value and _COOKIE.match(value))


def customer_id(cookie: str, *, secret: str) -> str:
    """The anonymous customer's user id: derived from the page's cookie (the cookie itself, which lets
    its holder read the chat, is never stored)."""
    digest = hmac.new(secret.encode(), cookie.encode(), hashlib.sha256).hexdigest()
    return f"web_{digest[:32]}"


def message_key(user_id: str, client_id: str) -> str:
    """The message's exactly-once key (its inbox row's): the customer and the page's id of it."""
    return f"web:{user_id[4:]}:{client_id}"


def check_message(*, text: str, client_id: str) -> str:
    """The text to send (trimmed), or a 400 with a plain Chinese message."""
    text = text.strip()
    if not text:
        raise ServiceError("empty_text", copy.EMPTY_TEXT)
    if len(text) > MAX_TEXT:
        raise ServiceError("text_too_long", copy.TEXT_TOO_LONG.format(limit=MAX_TEXT),
                           detail={"max_chars": MAX_TEXT})
    if not _CLIENT_ID.match(client_id):
        raise ServiceError("bad_client_id", copy.BAD_CLIENT_ID)
    return text


def _inbox_items(row: WechatInbox, cipher: FieldCipher) -> list[dict[str, Any]]:
    items = []
    if row.content_enc:
        items.append({"id": f"c{row.id}", "role": "customer", "at": row.received_at,
                      "text": cipher.decrypt(row.content_enc, purpose=INBOUND_PURPOSE)})
    if row.reply_enc:
        stored = json.loads(cipher.decrypt(row.reply_enc, purpose=REPLY_PURPOSE))
        for n, message in enumerate(stored.get("messages") or []):
            text = message.get("text") or "\n".join(
                f"{news[0]} {news[2]}".strip() for news in message.get("news") or [])
            if text:
                items.append({"id": f"b{row.id}.{n}", "role": "bot", "at": row.received_at, "text": text})
    return items


def message_items(session: Session, *, cipher: FieldCipher, msg_key: str) -> list[dict[str, Any]]:
    """One message's lines (the customer's text and the bot's replies), from its inbox row."""
    row = session.scalars(select(WechatInbox).where(WechatInbox.msg_key == msg_key)).first()
    return [] if row is None else _inbox_items(row, cipher)


def lines_after(session: Session, *, cipher: FieldCipher, user_id: str, after: Cursor,
                channel: str = CHANNEL) -> tuple[list[dict[str, Any]], Cursor]:
    """The customer's lines after ``after``, oldest first, and the cursor for the next poll (the web
    chat's channel unless another chat channel is given).

    An agent's message is shown once delivered; one still pending holds back the later ones, so that
    a poll never passes a message that is delivered after a newer one.
    """
    inbox = list(session.scalars(
        select(WechatInbox)
        .where(WechatInbox.channel == channel, WechatInbox.openid == user_id, WechatInbox.id > after.inbox)
        .order_by(WechatInbox.id).limit(PAGE_ROWS)))
    mine = select(HandoffRequest.id).where(HandoffRequest.channel == channel,
                                           HandoffRequest.user_id == user_id)
    shown = (HandoffMessage.handoff_id.in_(mine), HandoffMessage.direction.in_(_SHOWN),
             HandoffMessage.id > after.handoff)
    pending = session.scalar(
        select(func.min(HandoffMessage.id)).where(*shown, HandoffMessage.delivery == "pending"))
    query = select(HandoffMessage).where(*shown, HandoffMessage.delivery == "sent")
    if pending is not None:
        query = query.where(HandoffMessage.id < pending)
    sent = list(session.scalars(query.order_by(HandoffMessage.id).limit(PAGE_ROWS)))
    items = [item for row in inbox for item in _inbox_items(row, cipher)]
    items += [{"id": f"h{m.id}", "role": m.direction, "at": m.created_at,
               "text": cipher.decrypt(m.text_enc, purpose=PURPOSE_MESSAGE),
               "image": f"/chat/api/pictures/{m.id}" if m.kind == "image" else None} for m in sent]
    items.sort(key=lambda item: item["at"])  # stable: each source keeps its own order on equal times
    cursor = Cursor(inbox[-1].id if inbox else after.inbox, sent[-1].id if sent else after.handoff)
    return items, cursor


def customer_picture(session: Session, *, user_id: str, message_id: int,
                     channel: str = CHANNEL) -> HandoffMessage | None:
    """A picture an agent sent to this customer and that was delivered, or None (another customer's,
    not a picture, not delivered yet: the page never learns which)."""
    msg = session.get(HandoffMessage, message_id)
    if msg is None or msg.kind != "image" or msg.direction != "agent" or msg.delivery != "sent":
        return None
    row = session.get(HandoffRequest, msg.handoff_id)
    if row is None or row.channel != channel or row.user_id != user_id:
        return None
    return msg
