"""Masks for display (GB/T 35273 §7.2): applied server-side in every response by default.

``mask_*`` mask one known value; :func:`scrub_text` masks every ID, phone and card number found in a
free text (and the given private values); :func:`scrub_slots` masks a dialogue turn's slots.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any


def mask_id_number(value: str | None) -> str | None:
    """``440514195301011234`` → ``4405**********1234`` (first 4 and last 4 kept)."""
    if not value:
        return value
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    """``13812345678`` → ``138****5678``."""
    if not value:
        return value
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str | None:
    """``张三明`` → ``张*明``; ``张三`` → ``张*``; longer names keep first and last."""
    if not value:
        return value
    if len(value) == 1:
        return "*"
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_bank_account(value: str | None) -> str | None:
    """``6222021234567890123`` → ``6222***********0123``."""
    if not value:
        return value
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


# 18-character IDs (spaces or dashes allowed inside), mobile numbers (+86 allowed), 12–19 digit
# card numbers. Case numbers (LP2611210042x) are preceded by letters and stay readable.
_RE_ID = re.compile(r"(?<![0-9A-Za-z])[1-9](?:[ \-]?\d){16}[ \-]?[\dXx](?![0-9A-Za-z])")
_RE_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:(?:\+|00)?86[ \-]?)?1[3-9]\d(?:[ \-]?\d){8}(?!\d)")
_RE_CARD = re.compile(r"(?<![0-9A-Za-z])\d(?:[ \-]?\d){11,18}(?!\d)")
_RE_SEP = re.compile(r"[ \-]")
# Each of the three needs at least 11 digits in a row (single spaces or dashes allowed between):
# one search decides whether the three substitutions can change anything (most texts have none).
_RE_ELEVEN_DIGITS = re.compile(r"\d(?:[ \-]?\d){10}")

# Slot names whose values are private, and how to mask them.
_SLOT_MASKS = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "name": mask_name,
    "insured_name": mask_name,
    "bank_account": mask_bank_account,
}


def _scrub_numbers(text: str) -> str:
    out = _RE_ID.sub(_mask_match(mask_id_number), text)
    out = _RE_PHONE.sub(_mask_match(mask_phone), out)
    return _RE_CARD.sub(_mask_match(mask_bank_account), out)


def _mask_match(masker: Any) -> Any:
    def repl(m: re.Match[str]) -> str:
        return str(masker(_RE_SEP.sub("", m.group(0))))

    return repl


def scrub_text(text: str, *, private_values: Iterable[str] = ()) -> str:
    """``text`` with ID numbers, phones, card numbers and the given private values masked."""
    out = _scrub_numbers(text) if _RE_ELEVEN_DIGITS.search(text) else text
    for value in sorted({v for v in private_values if v and len(v) >= 2}, key=len, reverse=True):
        out = out.replace(value, str(mask_name(value)))
    return out


def scrub_slots(slots: Mapping[str, Any]) -> dict[str, Any]:
    """The slots with private values masked (safe to store and to show)."""
    clean: dict[str, Any] = {}
    for key, value in slots.items():
        masker = _SLOT_MASKS.get(key)
        if masker is not None and isinstance(value, str):
            clean[key] = masker(value)
        elif isinstance(value, str | int | float | bool) or value is None:
            clean[key] = scrub_text(value) if isinstance(value, str) else value
        else:
            clean[key] = scrub_text(str(value))
    return clean
