"""What the webhook answers, and how a turn's answer is stored (encrypted, in the inbox and in Redis).

The stored answer is the JSON ``{"xml": passive reply or null, "messages": [...]}`` encrypted with the
field cipher: the same token goes into the inbox row and, after :data:`bot.inbox_protocol.DONE`, into
the message's Redis mark, so a copy of the message gets the same answer from either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from backend.conversations import service as conv
from backend.security.crypto import FieldCipher
from bot.contract import InboundMessage
from bot.replies import OutMessage, render_passive


class DatabaseDown(Exception):
    """The message could not be stored; the webhook answers 503 so WeChat delivers it again."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the webhook answers: the passive reply XML (plain), or None for ``success``."""

    passive_xml: str | None
    extras: tuple[OutMessage, ...] = ()


SUCCESS = Answer(None)


def dump_messages(messages: list[OutMessage]) -> list[dict[str, object]]:
    """The messages as stored in the answer's JSON."""
    return [{"text": m.text, "news": [[n.title, n.description, n.url, n.image_url] for n in m.news]}
            for m in messages]


@dataclass(slots=True)  # (not frozen: built for every message)
class Sealed:
    """A turn's answer, rendered and encrypted once for the inbox row, Redis and the reply."""

    outs: list[OutMessage]
    xml: str | None  # the passive reply (the first message), None when there is nothing to say
    reply_enc: str
    inbox_values: dict[str, Any]  # keywords of ``conv.inbox_row`` / ``conv.insert_inbox``


def seal(cipher: FieldCipher, message: InboundMessage, outs: list[OutMessage], *,
         our_id: str | None) -> Sealed:
    """Render the passive reply and encrypt the answer and the message text. ``our_id`` None: a chat
    channel without passive replies (the web chat page reads the messages from the inbox row)."""
    xml = render_passive(outs[0], to_user=message.user_id, from_user=our_id) if outs and our_id else None
    reply_enc = cipher.encrypt(json.dumps({"xml": xml, "messages": dump_messages(outs)}, ensure_ascii=False),
                               purpose=conv.REPLY_PURPOSE)
    content_enc = cipher.encrypt(message.text, purpose=conv.INBOUND_PURPOSE) if message.text else None
    values = {"msg_key": message.msg_key, "openid": message.user_id, "msg_type": message.raw_type,
              "event": message.event, "delivery": "passive" if xml else "sent" if outs else "none",
              "reply_enc": reply_enc, "content_enc": content_enc}
    return Sealed(outs, xml, reply_enc, values)


def open_answer(cipher: FieldCipher, token: str | None) -> Answer:
    """The webhook's answer from a stored one (``success`` when there is none)."""
    if not token:
        return SUCCESS
    stored = json.loads(cipher.decrypt(token, purpose=conv.REPLY_PURPOSE))
    return Answer(stored.get("xml"))
