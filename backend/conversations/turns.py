"""Dialogue turns: size limits of a stored turn, finding the turn a message already left, and reading
its texts (stored encrypted).

The turn row itself (text and slots masked, truncated, the texts encrypted) is built by
:func:`backend.conversations.service.turn_row`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.conversations.turn_models import PURPOSE_REPLY_TEXT, PURPOSE_USER_TEXT, ConversationTurn
from backend.security.crypto import FieldCipher

# The dialogue flows in bot/ still import scrub_text from here; new code imports backend.security.masking.
from backend.security.masking import scrub_slots, scrub_text

__all__ = ["REPLY_MAX", "TEXT_MAX", "find_turn", "scrub_slots", "scrub_text", "turn_text"]

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


_TEXTS = {"user_text": ("user_text_enc", PURPOSE_USER_TEXT),
          "reply_text": ("reply_text_enc", PURPOSE_REPLY_TEXT)}


def turn_text(turn: ConversationTurn, field: str, *, cipher: FieldCipher) -> str:
    """The clear ``user_text`` or ``reply_text`` of a turn (numbers in it masked; "" when empty)."""
    attr, purpose = _TEXTS[field]
    stored: str | None = getattr(turn, attr)
    return cipher.decrypt(stored, purpose=purpose) if stored else ""
