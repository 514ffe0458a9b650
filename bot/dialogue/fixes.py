"""A correction in words at the confirmation that carries the new value with it, so that nothing is
asked again: 名字写错了，唔是秀，是素，洪素娥 (the whole name, or one character swapped), 电话唔对，尾数是4516
(the last digits of the phone number)."""

from __future__ import annotations

import re

from bot.dialogue.context import Turn
from bot.dialogue.state import FlowFrame

_CJK = "\u4e00-\u9fff"
_RE_TAIL = re.compile(r"(?:尾数|尾号|后面|最后|末尾|后\d位)\D{0,3}?(\d{2,6})")
_RE_SWAP = re.compile(rf"不是([{_CJK}])[字的，,、\s]*(?:是|应该是|改成)([{_CJK}])")
_RE_CHUNKS = re.compile(r"[\s,，。.!！?？、；;:：]+")


def new_value(turn: Turn, frame: FlowFrame, field: str) -> str | None:
    """The corrected value of ``field`` said in this message, or None."""
    current = turn.secret(frame, field) if field in ("name", "phone") else None
    if field == "name":
        return corrected_name(turn, current)
    if field == "phone" and current:
        return _phone_tail(turn, current)
    return None


def corrected_name(turn: Turn, current: str | None) -> str | None:
    """The name this message puts in place of ``current``: a whole name (the same surname first),
    or ``current`` with one character swapped (唔是正，是振动的振)."""
    names = [c for c in _RE_CHUNKS.split(turn.plain) if turn.extract.is_name(c)]
    if current:
        same_surname = [n for n in names if n[:1] == current[:1] and n != current]
        if same_surname:
            return same_surname[-1]
        m = _RE_SWAP.search(turn.norm)
        if m and m.group(1) in current and m.group(2) != m.group(1):
            return current.replace(m.group(1), m.group(2), 1)
    others = [n for n in names if n != current]
    return others[-1] if others else None


def _phone_tail(turn: Turn, current: str) -> str | None:
    m = _RE_TAIL.search(turn.norm)
    if not m or len(m.group(1)) >= len(current):
        return None
    fixed = current[: len(current) - len(m.group(1))] + m.group(1)
    return fixed if fixed != current and re.fullmatch(r"1\d{10}", fixed) else None
