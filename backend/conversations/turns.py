"""Dialogue turns: record every customer turn with its intent and slots, private values masked."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.conversations.turn_models import ConversationTurn
from backend.db import utcnow
from backend.security.masking import mask_bank_account, mask_id_number, mask_name, mask_phone

TEXT_MAX = 500
REPLY_MAX = 4000

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


def record_turn(
    session: Session,
    *,
    channel: str,
    user_id: str,
    msg_key: str,
    kind: str,
    text: str,
    intent: str | None,
    confidence: float | None,
    slots: Mapping[str, Any],
    flow: str | None,
    step: str | None,
    reply_text: str,
    private_values: Iterable[str] = (),
    degraded: bool = False,
    at: dt.datetime | None = None,
) -> ConversationTurn:
    """Store one turn: text and slots with private values masked, truncated to a sane size."""
    values = list(private_values)
    turn = ConversationTurn(
        channel=channel,
        user_id=user_id,
        msg_key=msg_key or None,
        at=at or utcnow(),
        kind=kind,
        user_text=scrub_text(text[: TEXT_MAX * 2], private_values=values)[:TEXT_MAX],
        intent=intent,
        confidence=None if confidence is None else round(float(confidence), 4),
        slots=scrub_slots(slots),
        flow=flow,
        step=step,
        reply_text=scrub_text(reply_text, private_values=values)[:REPLY_MAX],
        degraded=degraded,
    )
    session.add(turn)
    session.flush()
    return turn


def recent_turns(session: Session, *, channel: str, user_id: str, limit: int = 20) -> list[ConversationTurn]:
    """The customer's latest turns, newest first (for agents taking over)."""
    stmt = (
        select(ConversationTurn)
        .where(ConversationTurn.channel == channel, ConversationTurn.user_id == user_id)
        .order_by(ConversationTurn.at.desc(), ConversationTurn.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))
