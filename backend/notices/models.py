"""Notices: what was (or is being) told to a customer or a staff member, over which channel.

A notice is created by its send job (``notices.send``, keyed by the notice key: the job row written
in the transaction of the change is the outbox entry). Its key is the idempotency key of every send:
``client_msg_id`` for a WeChat template message and ``OutId`` for an SMS are derived from
``(key, channel)`` (catalogue F-W3: claim, status version, channel). ``attempts`` keeps one entry per
channel tried: ``{"channel", "at", "outcome": sent|unreachable|failed, "code", "provider_id"}``.

No private data: parameters are case numbers, stages and dates; the recipient is an openid (already
kept in clear on claims) or nothing (an SMS number is read, encrypted, from the record at send time).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class Notice(Base):
    """One notice and how it was delivered."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_subject", "subject_type", "subject_id"),
        Index("ix_notices_provider_id", "provider_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(16))  # claim | complaint | home_visit | staff
    subject_id: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending → sent (a channel accepted it) | failed (no channel could); receipt_* from the push.
    state: Mapped[str] = mapped_column(String(16), default="pending")
    channel: Mapped[str | None] = mapped_column(String(24))
    provider_id: Mapped[str | None] = mapped_column(String(64))  # WeChat msgid / Aliyun BizId
    receipt_status: Mapped[str | None] = mapped_column(String(64))
    receipt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ChannelOrder(Base):
    """The order of channels a customer wants notices in (default: ``channels_default``); whether they
    want WeChat or SMS at all is ``backend.notifications.models.ChannelPreference``."""

    __tablename__ = "notice_channel_preferences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    channels: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsReceipt(Base):
    """An Aliyun SmsReport entry (pushed at least once: unique on BizId and OutId)."""

    __tablename__ = "sms_receipts"
    __table_args__ = (UniqueConstraint("biz_id", "out_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    biz_id: Mapped[str] = mapped_column(String(64))
    out_id: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    err_code: Mapped[str] = mapped_column(String(64))
    report_time: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

