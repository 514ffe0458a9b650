"""The subscribe-message ledger and the customer's channel choices.

WeChat one-time subscribe messages: one acceptance allows exactly one send, acceptances do not
expire, and there is no API to ask how many are left, so we keep our own ledger
(``subscription_grants``: one row per acceptance, consumed by one send). The latest choice per
user and template (accept / reject / ban, and whether the user ticked "always keep this choice")
is in ``subscription_choices``. Both are fed by the mini-program's reports of
``wx.requestSubscribeMessage`` results and by the official account's ``subscribe_msg_popup_event`` and
``subscribe_msg_change_event`` pushes. WeChat's delivery report of each send
(``subscribe_msg_sent_event``) is kept in ``subscription_deliveries``, with the grant it settled.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class SubscriptionGrant(Base):
    """One acceptance of one template: one send."""

    __tablename__ = "subscription_grants"
    __table_args__ = (
        Index("ix_subscription_grants_open", "channel", "openid", "template_id", "consumed_at"),
        UniqueConstraint("consumed_by"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(24))
    openid: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(32))  # miniprogram | oa_popup | oa_change
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    consumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The notice (outbox key) that used it: one grant per notice, even when the send is retried.
    consumed_by: Mapped[str | None] = mapped_column(String(128))
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # WeChat said 43101: not usable


class SubscriptionChoice(Base):
    """The latest choice of a user about a template."""

    __tablename__ = "subscription_choices"
    __table_args__ = (UniqueConstraint("channel", "openid", "template_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(24))
    openid: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # accept | reject | ban | filter
    always: Mapped[bool] = mapped_column(Boolean, default=False)  # "总是保持以上选择"
    source: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubscriptionDelivery(Base):
    """WeChat's delivery report of one subscribe-message send (one ``<List>`` of a sent event)."""

    __tablename__ = "subscription_deliveries"
    __table_args__ = (UniqueConstraint("msgid"), UniqueConstraint("grant_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(24))
    openid: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(128))
    msgid: Mapped[str] = mapped_column(String(64))  # WeChat's id of the message
    errcode: Mapped[int] = mapped_column(Integer)  # 0 delivered; 43101 refused...
    status: Mapped[str] = mapped_column(String(64))  # "success", "fail:user refuse to accept the msg"...
    # The send (consumed grant) it reports on; None when no send of ours was waiting for a report.
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("subscription_grants.id"))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelPreference(Base):
    """How a customer wants to hear from us (per channel identity)."""

    __tablename__ = "channel_preferences"
    __table_args__ = (UniqueConstraint("channel", "openid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(24))
    openid: Mapped[str] = mapped_column(String(64))
    wechat: Mapped[bool] = mapped_column(Boolean, default=True)
    sms: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
