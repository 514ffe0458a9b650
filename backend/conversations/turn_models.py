"""Dialogue turn log models (one row per customer turn).

A turn is a service record (kept at least 5 years, never deleted). The user's text and the bot's reply
hold names, health details and complaint texts: they are stored encrypted (D-01; FieldCipher, their
purposes below, registered for key rotation through the column metadata), after ID numbers, phone
numbers and card numbers were masked in them. Private slot values are stored masked, never in clear.
Read the texts with ``backend.conversations.turns.turn_text``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow
from backend.security.columns import encrypted

PURPOSE_USER_TEXT = "conversation_turns.user_text"
PURPOSE_REPLY_TEXT = "conversation_turns.reply_text"


class ConversationTurn(Base):
    """One inbound message and the bot's answer to it."""

    __tablename__ = "conversation_turns"
    __table_args__ = (
        # NULL msg_key (no dedupe key) never conflicts; a real key gives one turn per message.
        UniqueConstraint("channel", "user_id", "msg_key"),
        Index("ix_conversation_turns_user", "channel", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    msg_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16), default="text")
    # Truncated, with ID numbers, phones and card numbers masked, then encrypted (NULL when empty).
    user_text_enc: Mapped[str | None] = mapped_column(Text, default=None, info=encrypted(PURPOSE_USER_TEXT))
    intent: Mapped[str | None] = mapped_column(String(32), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Private values (id_number, phone) masked.
    slots: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flow: Mapped[str | None] = mapped_column(String(32), nullable=True)
    step: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reply_text_enc: Mapped[str | None] = mapped_column(Text, default=None,
                                                       info=encrypted(PURPOSE_REPLY_TEXT))
    # True when the conversation state could not be read or written (Redis down).
    degraded: Mapped[bool] = mapped_column(Boolean, default=False)
