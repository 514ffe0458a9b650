"""Dialogue turns: size limits of a stored turn.

The turn row itself (text and slots masked, truncated) is built by
:func:`backend.conversations.service.turn_row`.
"""

from __future__ import annotations

__all__ = ["REPLY_MAX", "TEXT_MAX"]

TEXT_MAX = 500
REPLY_MAX = 4000
