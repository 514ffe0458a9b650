"""Handoff requests: a customer who needs a person (the queue and the console come later)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow
from backend.security.columns import encrypted

# Why the bot handed the conversation over.
REASONS = ("asked", "misunderstood", "angry", "complaint", "info_update", "urgent")
# queued → agent → closed (agents and the console come in a later issue).
STATUSES = ("queued", "agent", "closed")
OPEN_STATUSES = ("queued", "agent")

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
