"""Platform pushes the dialogue never sees, recorded in the message's own transaction (``docs/wechat.md``).

WeChat reports on our sends and on the user's choices about them: template delivery receipts
(``TEMPLATESENDJOBFINISH``) and the subscribe-message events (popup, change, sent) that feed the ledger
of :mod:`backend.notifications.subscriptions`. The full path calls :func:`record` before it inserts the
inbox row and commits, so each push counts exactly once (W-09): a copy of it conflicts on the inbox row
and its writes are rolled back with it. A template or status we cannot use is skipped and logged, never a
failed push (WeChat would send it again and again); the push is answered ``success``.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from backend.conversations import service as conv
from backend.db import utcnow
from backend.notifications import subscriptions as subs
from bot.contract import InboundMessage, TemplateEvent

log = logging.getLogger(__name__)

_CHOICE_SOURCES = {"subscribe_msg_popup_event": "oa_popup", "subscribe_msg_change_event": "oa_change"}
_MAX_TEMPLATE_ID = 128
_MAX_MSGID = 64


def record(session: Session, message: InboundMessage) -> None:
    """Store what ``message`` reports, if it is such a push (in the caller's transaction)."""
    if message.event == "templatesendjobfinish" and message.text:
        conv.record_template_receipt(
            session, template_msgid=message.text, openid=message.user_id,
            status=message.event_key or "", received_at=message.created_at or utcnow())
    elif message.event in _CHOICE_SOURCES:
        _record_choices(session, message, _CHOICE_SOURCES[message.event])
    elif message.event == "subscribe_msg_sent_event":
        _record_deliveries(session, message)


def _usable_template(item: TemplateEvent) -> bool:
    return 0 < len(item.template_id) <= _MAX_TEMPLATE_ID


def _record_choices(session: Session, message: InboundMessage, source: str) -> None:
    """Popup: each ``accept`` is one send, ``reject`` a refusal; change: the new choice (a refusal
    voids the sends left)."""
    choices = [subs.Choice(template_id=t.template_id, status=t.status)
               for t in message.templates if _usable_template(t) and t.status in subs.STATUSES]
    if len(choices) < len(message.templates) or not choices:
        log.warning("subscribe event %s: %d of %d template(s) unusable", message.event,
                    len(message.templates) - len(choices), len(message.templates))
    if choices:
        subs.record_choices(session, channel=message.channel, openid=message.user_id, choices=choices,
                            source=source)


def _record_deliveries(session: Session, message: InboundMessage) -> None:
    """WeChat's delivery report of each send named."""
    for item in message.templates:
        if not _usable_template(item) or not 0 < len(item.msg_id) <= _MAX_MSGID or item.error_code is None:
            log.warning("subscribe_msg_sent_event: an unusable template report skipped")
            continue
        subs.record_delivery(session, channel=message.channel, openid=message.user_id,
                             template_id=item.template_id, msgid=item.msg_id, errcode=item.error_code,
                             status=item.status)
    if not message.templates:
        log.warning("subscribe_msg_sent_event without a template")
