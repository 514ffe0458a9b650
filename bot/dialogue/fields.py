"""Shared question steps: a name, a mobile number, an ID number (private values kept encrypted)."""

from __future__ import annotations

import re

from backend.claims.models import Claim
from bot.dialogue.base import Outcome
from bot.dialogue.context import Turn
from bot.dialogue.parsing import parse_name
from bot.dialogue.state import FlowFrame

_RE_DIGIT_RUN = re.compile(r"\d[\d\s\-—]*\d")


def take_name(turn: Turn, frame: FlowFrame, *, bad_key: str = "cr_bad_name") -> Outcome:
    """Keep a name answer encrypted as ``name``."""
    name = parse_name(turn.text)
    if name is not None and not (turn.interrupts(frame) and len(name) > 4):
        turn.keep_secret(frame, "name", name)
        turn.log_slots["name"] = name
        return "ok"
    if turn.interrupts(frame):
        return "pass"
    turn.say(bad_key)
    return "invalid"


_RE_FOREIGN_PHONE = re.compile(r"(?:\+|(?<!\d)00)(?!86)\d{1,3}[\s-]*\d")  # (not 1008 in a card number)


def update_fields(turn: Turn) -> list[str]:
    """The fields a change can be for (phone, bank_account, address) that this message names, in the
    order of ``update_field_words``."""
    table = turn.copy.table("update_field_words") or {}
    return [str(f) for f, words in table.items() if any(w in turn.norm for w in words)]


def foreign_phone(turn: Turn) -> bool:
    """True when the message gives a number with a country code other than China's (+852, 0060 …)."""
    return bool(_RE_FOREIGN_PHONE.search(turn.text))


def take_phone(turn: Turn, frame: FlowFrame, *, bad_key: str = "cr_bad_phone") -> Outcome:
    """Keep a mobile-number answer encrypted as ``phone``."""
    phone = turn.pred.slots.get("phone")
    if phone:
        turn.keep_secret(frame, "phone", str(phone))
        return "ok"
    if foreign_phone(turn):  # +60 12-345 6789, +852 …: staff call mainland mobiles
        turn.say("cr_foreign_phone")
        return "invalid"
    runs = [re.sub(r"\D", "", r) for r in _RE_DIGIT_RUN.findall(turn.text)]
    if any(5 <= len(r) <= 13 for r in runs):  # a number meant as the phone (住了20日 赔了300: no phone)
        turn.say(bad_key)
        return "invalid"
    return "pass"


def prefill_phone(turn: Turn, frame: FlowFrame) -> None:
    """Keep a phone number the first message already gave."""
    phone = turn.pred.slots.get("phone")
    if phone and "phone" not in frame.secret:
        turn.keep_secret(frame, "phone", str(phone))


def id_number_answer(turn: Turn) -> str | None:
    """The ID number a message carries (NLU slot, or ≥ 6 digits/X), not yet validated."""
    slot = turn.pred.slots.get("id_number")
    if slot:
        return str(slot)
    digits = "".join(ch for ch in turn.text if ch.isdigit() or ch in "xX")
    return digits if len(digits) >= 6 else None


def reported_by_this_user(turn: Turn, claim: Claim) -> bool:
    """True when the WeChat user writing now reported ``claim`` (same channel and openid)."""
    msg = turn.message
    owner = (claim.channel, claim.reporter_openid)
    return bool(claim.reporter_openid) and owner == (msg.channel, msg.user_id)
