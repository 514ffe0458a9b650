"""Dialogue turns: size limits of a stored turn, and finding the turn a message already left.

The turn row itself (text and slots masked, truncated) is built by
:func:`backend.conversations.service.turn_row`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.conversations.turn_models import ConversationTurn

# The dialogue flows in bot/ still import scrub_text from here; new code imports backend.security.masking.
from backend.security.masking import scrub_slots, scrub_text

__all__ = ["REPLY_MAX", "TEXT_MAX", "find_turn", "scrub_slots", "scrub_text"]

TEXT_MAX = 500
REPLY_MAX = 4000


def find_turn(session: Session, *, channel: str, user_id: str, msg_key: str) -> ConversationTurn | None:
    """The turn already recorded for this message (a redelivery), if any."""
    if not msg_key:
        return None
    stmt = select(ConversationTurn).where(
        ConversationTurn.channel == channel,
        ConversationTurn.user_id == user_id,
        ConversationTurn.msg_key == msg_key,
    )
    return session.scalars(stmt).first()
