"""How private values appear in staff responses (catalogue A-03): masked, never in clear.

A value that does not decrypt shows as ``(无法解密)`` instead of failing the whole response; free text
shows with every ID, phone and card number masked (the clear text only through reveal, audited).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from backend.privacy.freetext import HasFreeText, free_text
from backend.security.crypto import CryptoError, FieldCipher
from backend.security.masking import scrub_text

UNREADABLE = "(无法解密)"


def decrypted(cipher: FieldCipher, token: str | None, purpose: str) -> str | None:
    """The clear value to mask for display (None when empty, a notice when it does not decrypt)."""
    if not token:
        return None
    try:
        return cipher.decrypt(token, purpose=purpose)
    except CryptoError:
        return UNREADABLE


def masked_text(obj: HasFreeText, field: str, cipher: FieldCipher) -> str | None:
    """A free-text field as shown to staff: any ID, phone or card number in it masked."""
    try:
        value = free_text(obj, field, cipher=cipher)
    except CryptoError:
        return UNREADABLE
    return scrub_text(value) if value else value


class HistoryEventOut(BaseModel):
    """One entry of a claim's or complaint's history (the reason masked)."""

    id: int
    at: dt.datetime
    actor: str
    kind: str
    from_state: str | None
    to_state: str | None
    reason: str | None


def history_view(events: Iterable[Any] | None, cipher: FieldCipher) -> list[HistoryEventOut]:
    """History events (``ClaimEvent``, ``ComplaintEvent``) as shown to staff."""
    return [
        HistoryEventOut(id=e.id, at=e.at, actor=e.actor, kind=e.kind, from_state=e.from_state,
                        to_state=e.to_state, reason=masked_text(e, "reason", cipher))
        for e in (events or [])
    ]
