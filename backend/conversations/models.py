"""Conversations: the inbox of received WeChat messages (dedupe source of truth) and the turn log.

Message text is private (people type ID and phone numbers), so it is stored only encrypted.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


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
    # processing → done | failed
    status: Mapped[str] = mapped_column(String(16), default="processing")
    # "passive" | "custom_service" | "none"
    delivery: Mapped[str] = mapped_column(String(16), default="none")
    content_enc: Mapped[str | None] = mapped_column(Text, default=None)
    reply_enc: Mapped[str | None] = mapped_column(Text, default=None)  # JSON list of messages
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class WebhookTurn(Base):
    """One webhook exchange: what the user sent and what the bot answered (a service record, C-08).

    NOTE from the lead: renamed from ConversationTurn, which the dialogue engineer defines in
    backend/conversations/turn_models.py (intent, confidence, slots). Use WebhookTurn here.
    """

    __tablename__ = "webhook_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("wechat_inbox.id"), default=None)
    inbound_kind: Mapped[str] = mapped_column(String(32))
    inbound_enc: Mapped[str] = mapped_column(Text, default="")
    replies_enc: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


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
