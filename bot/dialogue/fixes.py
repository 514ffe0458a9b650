"""A correction in words at the confirmation that carries the new value with it, so that nothing is
asked again: 名字写错了，唔是秀，是素，洪素娥 (the whole name, or one character swapped), 电话唔对，尾数是4516
(the last digits of the phone number)."""

from __future__ import annotations

import re

from bot.dialogue.context import Turn
from bot.dialogue.state import FlowFrame

_CJK = "\u4e00-\u9fff"
_RE_TAIL = re.compile(r"(?:尾数|尾号|后面|最后|末尾|后\d位)\D{0,3}?(\d{2,6})")
# 唔是秀，是素 / 不是黄色的黄 是三横一竖的王: the character denied, then the one meant (each maybe described)
_SAID = rf"(?:[{_CJK}]{{0,6}}的)?([{_CJK}])"  # 秀 / 黄色的黄 / 三横一竖的王: a character, maybe described
_RE_SWAP = re.compile(rf"不是{_SAID}[字，,、\s]*(?:是|应该是|改成){_SAID}")
# 是三横一竖的王 不是黄色的黄: the one meant first
_RE_SWAP_BACK = re.compile(rf"(?<!不)是{_SAID}[字，,、\s]*不是{_SAID}")
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
        others = [n for n in names if n != current]
        if others:  # 唔是王，是草头黄，黄木森: the whole name said, whatever the character talk before it
            return others[-1]
        m = _RE_SWAP.search(turn.norm)
        old, meant = (m.group(1), m.group(2)) if m else (None, None)
        back = _RE_SWAP_BACK.search(turn.norm) if not (old and old in current) else None
        if back:
            old, meant = back.group(2), back.group(1)
        if old and meant and old in current and meant != old:
            return current.replace(old, meant, 1)
    others = [n for n in names if n != current]
    return others[-1] if others else None


def respelled_name(turn: Turn, current: str | None) -> str | None:
    """The name just taken, said again with one character different (王 三横一竖个王 王雪梅 after
    黄雪梅; 方惜 可惜个惜 after 方锡: voice input picked a homophone), or None."""
    if not current:
        return None
    for chunk in _RE_CHUNKS.split(turn.plain):
        if len(chunk) == len(current) + 1 and chunk[0] in "是系":
            chunk = chunk[1:]  # 打错 是谢永发 after 谢永法
        if chunk != current and len(chunk) == len(current) and turn.extract.is_name(chunk) \
                and sum(a == b for a, b in zip(chunk, current, strict=True)) == len(current) - 1:
            return chunk
    return None


def take_respelled_name(turn: Turn, frame: FlowFrame) -> bool:
    """Keep the name this message respells (see :func:`respelled_name`); True when it did."""
    respelled = respelled_name(turn, turn.secret(frame, "name"))
    if respelled is None:
        return False
    turn.keep_secret(frame, "name", respelled)
    turn.keep_note_secret("name", respelled)
    turn.say("noted")
    return True


def _phone_tail(turn: Turn, current: str) -> str | None:
    m = _RE_TAIL.search(turn.norm)
    if not m or len(m.group(1)) >= len(current):
        return None
    fixed = current[: len(current) - len(m.group(1))] + m.group(1)
    return fixed if fixed != current and re.fullmatch(r"1\d{10}", fixed) else None


def clear(turn: Turn, frame: FlowFrame, field: str) -> None:
    """Forget one item of a report at the customer's "不对" (in the conversation's notes too, so the
    old value does not come back), so its question is asked again."""
    if field in ("name", "id_number", "phone"):
        frame.secret.pop(field, None)
        turn.state.secret.pop(field, None)
    else:
        frame.data.pop(field, None)
        turn.state.notes.pop(field, None)
    if field == "claim_type":
        frame.data.pop("claim_type_set", None)
    if field == "id_number":
        frame.data.pop("no_id", None)
    if field == "relation":
        frame.data.pop("relation_told", None)
