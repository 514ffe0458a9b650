"""A number sent in pieces: "4405 1419 4408" then "0503 15", or "电话 159", "1374", "6682".

Elderly customers (and voice input) often send a long number in several messages. A message that
holds only digits (maybe after a label such as 电话 or 身份证) and that is the start of a mobile or
an ID number is kept (encrypted) until the rest comes; the joined number then counts as if it had
been sent in one message (the NLU reading gets it as its slot and in its normalized text), so every
flow takes it where it belongs. Any other message drops the piece.
"""

from __future__ import annotations

import dataclasses
import re

from backend.roster.idcard import InvalidIdNumber, validate_id_number
from bot.dialogue.context import Turn

PIECE = "digits_piece"
_FIRST_PIECE_MAX = 15  # the key of the piece kept in the state's secret
_RE_LABELS = re.compile(r"^(?:后面的?|剩下的?|还有|接着|最后几位|后几位)?"  # 后面是162X: the rest
                        r"(?:我的|伊的|他的|她的|阿[公嬷妈爸]的)?(?:手机号码|手机号|手机|电话号码|电话|号码|"
                        r"身份证号码|身份证号|身份证|身份|号码是|是)?\s*[:：是]?\s*")
_RE_ONLY_DIGITS = re.compile(r"^[\dXx][\d\s\-—]*[\dXx]?$")


def _digits_only(text: str) -> tuple[str, bool] | None:
    """The digits of a message made of digits only (after a label), and whether a label came
    first; None for any other message."""
    text = text.strip()
    bare = _RE_LABELS.sub("", text).strip(" 。，,.")
    if not bare or not _RE_ONLY_DIGITS.match(bare):
        return None
    return re.sub(r"[\s\-—]", "", bare).upper(), bare != text


def _complete(turn: Turn, digits: str) -> str | None:
    """"phone" or "id_number" when ``digits`` is a whole number of that kind."""
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        return "phone"
    if len(digits) == 18:
        try:
            validate_id_number(digits, today=turn.today)
        except InvalidIdNumber:
            return None
        return "id_number"
    return None


def _may_grow(digits: str) -> bool:
    """True when ``digits`` can be the start of a mobile number or of an ID number."""
    if "X" in digits:
        return False
    phone = digits[0] == "1" and len(digits) < 11
    id_start = digits[0] in "123456" and len(digits) < 18
    return phone or id_start


def join(turn: Turn) -> bool:
    """Join this message to the piece kept before; True when the message is a piece waiting for
    the rest (the caller says so and asks for it). Makes no NLU call."""
    state = turn.state
    held = turn.box.get(state, PIECE) if PIECE in state.secret else None
    state.secret.pop(PIECE, None)
    found = _digits_only(turn.norm)
    if found is None:
        _keep_tail(turn)  # 她叫许亚妹 身份证 4405141944: the message is read, its number's start kept
        return False
    if len(found[0]) < 2 or (turn.digit(9) is not None and held is None):
        return False
    digits, labelled = found
    # a first piece: after a label, or long enough, but not 17 digits (one digit missing: a typo)
    first_long_enough = (labelled or len(digits) >= 6) and len(digits) <= _FIRST_PIECE_MAX
    if held:
        turn.private_values.append(held)
    if _complete(turn, digits) is None and held:
        joined = held + digits
        kind = _complete(turn, joined)
        if kind is not None:
            _take(turn, kind, joined)
            return False
        digits = joined
    if _complete(turn, digits) is None and len(digits) >= 3 and _may_grow(digits) and (
            held or first_long_enough):
        turn.private_values.append(digits)
        turn.box.put(state, PIECE, digits)
        return True
    return False


def _keep_tail(turn: Turn) -> None:
    """An ID number begun at the end of a message that says other things (a name, then 身份证 and
    ten digits): the digits are kept as a piece, so that the rest sent next completes it."""
    m = _RE_ID_TAIL.search(turn.norm)
    if m is None or not _may_grow(m.group(1)) or m.group(1)[0] == "1":
        return
    turn.private_values.append(m.group(1))
    turn.box.put(turn.state, PIECE, m.group(1))


_RE_ID_TAIL = re.compile(r"身份证(?:号码|号)?\s*[:：是]?\s*(\d{6,15})\s*$")


def _take(turn: Turn, kind: str, number: str) -> None:
    """The joined number as this message's reading (slot and normalized text)."""
    turn.private_values.append(number)
    reading = turn.reading
    if reading is None:
        return
    slots = {**(getattr(reading, "slots", None) or {}), kind: number}
    label = "电话" if kind == "phone" else "身份证"
    try:
        reading = dataclasses.replace(reading, slots=slots, normalized=f"{label} {number}")  # type: ignore[type-var]
    except TypeError:  # a reading without these fields: the slot alone
        reading = dataclasses.replace(reading, slots=slots)  # type: ignore[type-var]
    turn.reading = reading
    turn.pred = reading
