"""Conversations: the inbox of received WeChat messages (dedupe source of truth and stored answers).

The dialogue's turn log (intent, confidence, slots) is ``conversation_turns`` (turn_models.py); the
inbox row is written in the same transaction as the turn, so "processed" and the turn's effects commit
together.

Message text is private (people type ID and phone numbers), so it is stored only encrypted.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow
from backend.security.columns import encrypted

# FieldCipher purposes of the stored message text and answer.
INBOUND_PURPOSE = "conversation.inbound"
REPLY_PURPOSE = "conversation.reply"


class WechatInbox(Base):
    """One received push; ``msg_key`` (MsgId, or FromUserName+CreateTime for events) is unique."""

    __tablename__ = "wechat_inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    msg_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(32), default="official_account")
    openid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(32))
    event: Mapped[str | None] = mapped_column(String(64), default=None)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "done" (a row is written only when its turn commits)
    status: Mapped[str] = mapped_column(String(16), default="processing")
    # "passive" | "custom_service" (instead of a late passive reply) | "undelivered" | "none"
    delivery: Mapped[str] = mapped_column(String(16), default="none")
    content_enc: Mapped[str | None] = mapped_column(Text, default=None, info=encrypted(INBOUND_PURPOSE))
    # The answer: a JSON list of messages.
    reply_enc: Mapped[str | None] = mapped_column(Text, default=None, info=encrypted(REPLY_PURPOSE))
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class WechatTemplateReceipt(Base):
    """A TEMPLATESENDJOBFINISH delivery receipt (matched later with the template send's msgid)."""

    __tablename__ = "wechat_template_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_msgid: Mapped[str] = mapped_column(String(32), unique=True)
    openid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WechatUnreachable(Base):
    """A user WeChat would not let us message (45015 window closed, 43101 refused...)."""

    __tablename__ = "wechat_unreachable"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    errcode: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the user writes again (the 48-hour window is open again).
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
