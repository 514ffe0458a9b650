"""Dialogue turns: size limits of a stored turn, and reading its texts (stored encrypted).

The turn row itself (text and slots masked, truncated, the texts encrypted) is built by
:func:`backend.conversations.service.turn_row`.
"""

from __future__ import annotations

from backend.conversations.turn_models import PURPOSE_REPLY_TEXT, PURPOSE_USER_TEXT, ConversationTurn
from backend.security.crypto import FieldCipher

__all__ = ["REPLY_MAX", "TEXT_MAX", "turn_text"]

TEXT_MAX = 500
REPLY_MAX = 4000

_TEXTS = {"user_text": ("user_text_enc", PURPOSE_USER_TEXT),
          "reply_text": ("reply_text_enc", PURPOSE_REPLY_TEXT)}


def turn_text(turn: ConversationTurn, field: str, *, cipher: FieldCipher) -> str:
    """The clear ``user_text`` or ``reply_text`` of a turn (numbers in it masked; "" when empty)."""
    attr, purpose = _TEXTS[field]
    stored: str | None = getattr(turn, attr)
    return cipher.decrypt(stored, purpose=purpose) if stored else ""
