"""Small parsers for customer answers: names and claim types."""

from __future__ import annotations

import re

from bot.dialogue.context import Turn

_RE_NAME_PREFIX = re.compile(r"^(?:.*?(?:名字叫做|名叫做|叫做|名叫|叫|名字是|名字叫|姓名是|姓名|名字"
                             r"|[伊他她]名|名为|名是|name(?:is)?))"
                             r"[:：\s]*", re.IGNORECASE)  # English after the spaces go: "His name is 蔡锦鸿"
# how a character is spelled out after the name: 树林的林, 耳东陈, 弓长张, 女字边一个我
_RE_SPELLING = re.compile(r"[\s，,]+(?:[\u4e00-\u9fff]{1,4}的[\u4e00-\u9fff]|耳东陈|弓长张|口天吴|立早章|"
                          r"木子李|双木林|古月胡|[\u4e00-\u9fff]{1,3}字[边旁头底][\u4e00-\u9fff]{0,4})(?=[\s，,]|$)")
_RE_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,6}$")
_RE_DIGITS = re.compile(r"\d{6,}")
_RE_AGE_AFTER = re.compile(r"[\s,，]+\d{2,3}\s*(?:岁|歲)?\s*$")  # 他叫蔡锦鸿, 78
_RE_PUNCT = re.compile(r"[\s，。,.!！?？、:：;；“”\"']")


def parse_name(text: str) -> str | None:
    """A Chinese personal name from a short answer ("张秀英", "她叫张秀英"), else None."""
    cleaned = _RE_PUNCT.sub("", _RE_DIGITS.sub("", _RE_SPELLING.sub(" ", _RE_AGE_AFTER.sub("", text))))
    cleaned = _RE_NAME_PREFIX.sub("", cleaned)
    return cleaned if _RE_NAME.match(cleaned) else None


def claim_type_from_text(turn: Turn, text: str) -> str | None:
    """The claim type the words point to (hospital stay, disability, death), if any."""
    words = turn.copy.table("claim_type_words")
    if any(w in text for w in words["accidental_death"]):
        return "transport_death" if turn.pred.slots.get("transport") else "accidental_death"
    if any(w in text for w in words["disability"]):
        return "disability"
    if any(w in text for w in words["hospital_allowance"]) or turn.pred.slots.get("days"):
        return "hospital_allowance"
    return None
