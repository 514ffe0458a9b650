"""Handoff to people: requests with their queue and SLA columns, the conversation's messages while a
person has it, and the agents' profiles (capacity, skill groups, presence state)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow
from backend.security.columns import encrypted

# Why the bot handed the conversation over.
# "takeover": an agent or supervisor took a live bot conversation over (the customer did not ask).
REASONS = ("asked", "misunderstood", "angry", "complaint", "info_update", "urgent", "follow_up", "callback",
           "takeover")
# Reasons that are staff work items, not a conversation waiting for a person (the bot keeps talking):
# a data change, a low rating to follow up, a message or call-back left outside service hours.
WORK_ITEM_REASONS = ("info_update", "follow_up", "callback")
# queued → agent → closed (then the conversation is the bot's again).
STATUSES = ("queued", "agent", "closed")
OPEN_STATUSES = ("queued", "agent")
# Queue priority: smaller first (someone hurt now, complaint, aged 80+, others).
PRIORITY_URGENT, PRIORITY_COMPLAINT, PRIORITY_AGED, PRIORITY_OTHER = 0, 1, 2, 3
GROUPS = ("claims", "complaints", "general")
AGENT_STATES = ("online", "busy", "away")
DIRECTIONS = ("customer", "agent", "note", "system")
DELIVERIES = ("pending", "sent", "failed", "n/a")
# What a message is: text, or a picture an agent sent (its bytes in the encrypted file store).
KINDS = ("text", "image")
PURPOSE_CLOSE_SUMMARY = "handoff.close_summary"
PURPOSE_MESSAGE = "handoff.message"

PURPOSE_PAYLOAD = "handoff.payload"
PURPOSE_SUMMARY = "handoff.summary"


class HandoffRequest(Base):
    """One request for a person to take over a customer's conversation."""

    __tablename__ = "handoff_requests"
    __table_args__ = (Index("ix_handoff_requests_user_status", "channel", "user_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    # What the customer was doing (flow name), and what they last wrote for the agent: encrypted
    # (names, health details, complaints; PURPOSE_SUMMARY), with a short masked snippet readable in a
    # queue list (numbers and the names the dialogue knew masked, cut short).
    flow: Mapped[str | None] = mapped_column(String(32), nullable=True)
    summary_enc: Mapped[str | None] = mapped_column(Text, nullable=True, info=encrypted(PURPOSE_SUMMARY))
    summary_snippet: Mapped[str] = mapped_column(String(40), default="")
    # Private details for staff (e.g. a requested new phone number), encrypted (PURPOSE_PAYLOAD).
    payload_enc: Mapped[str | None] = mapped_column(Text, nullable=True, info=encrypted(PURPOSE_PAYLOAD))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The queue (issue 10): the SLA clock starts at queued_at, not when the chat began.
    queued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=PRIORITY_OTHER)
    skill_group: Mapped[str] = mapped_column(String(16), default="general")
    agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_response_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The oldest customer message not yet answered by the agent (next-response time), else NULL.
    waiting_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unread: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(32), nullable=True)
    close_summary_enc: Mapped[str | None] = mapped_column(
        Text, nullable=True, info=encrypted(PURPOSE_CLOSE_SUMMARY))
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The wait range told to the customer (seconds), once.
    told_low_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    told_high_s: Mapped[int | None] = mapped_column(Integer, nullable=True)


class HandoffMessage(Base):
    """One message of a handed-over conversation: the customer's, an agent's reply, a private note or
    a system line; texts encrypted (PURPOSE_MESSAGE). ``delivery`` tracks an agent reply's way out.
    An agent's picture is ``kind="image"`` with its file's key (its text is a placeholder line)."""

    __tablename__ = "handoff_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(Integer, index=True)
    direction: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    text_enc: Mapped[str] = mapped_column(Text, info=encrypted(PURPOSE_MESSAGE))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivery: Mapped[str] = mapped_column(String(16), default="n/a")
    delivery_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="text")
    # A picture: its random key in the file store (``backend.storage``) and its sniffed content type.
    attachment_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    attachment_type: Mapped[str | None] = mapped_column(String(32), nullable=True)


class AgentProfile(Base):
    """An agent's concurrent-chat capacity, skill groups and chosen state (presence itself is a Redis
    heartbeat key: an expired heartbeat makes the agent away whatever the state says)."""

    __tablename__ = "agent_profiles"

    staff_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    groups: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(GROUPS))
    state: Mapped[str] = mapped_column(String(16), default="away")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
