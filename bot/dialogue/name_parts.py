"""A name sent in two pieces, as a quick typist or a voice message cuts it: "我妈叫郑" … "淑华".

The surname said alone is kept in the report (``frame.data``) and the given name asked for; the next
short answer completes it when surname and given name make a name.
"""

from __future__ import annotations

import re

from bot.dialogue.context import Turn
from bot.dialogue.state import FlowFrame

SURNAME = "name_surname"
_RE_SURNAME_ALONE = re.compile(r"(?:叫|姓|名字是|名是)\s*([\u4e00-\u9fff])\s*[，,。.…]*$")


def hold_surname(turn: Turn, frame: FlowFrame) -> str | None:
    """The surname when the message ends with it alone (我妈叫郑 / 姓郑), kept for the next answer."""
    m = _RE_SURNAME_ALONE.search(turn.plain.strip())
    if m is None or m.group(1) not in turn.extract.surnames:
        return None
    frame.data[SURNAME] = m.group(1)
    return m.group(1)


def complete(turn: Turn, frame: FlowFrame) -> str | None:
    """Surname + this answer (淑华 after 我妈叫郑), when together they are a name; the surname is
    forgotten either way."""
    surname = frame.data.pop(SURNAME, None)
    given = turn.plain.strip(" ，,。.！!")
    if not surname or not 1 <= len(given) <= 2 or not re.fullmatch(r"[\u4e00-\u9fff]+", given):
        return None
    name = str(surname) + given
    return name if turn.extract.is_name(name) else None
