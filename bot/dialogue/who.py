"""The answer to "受伤的是谁": a numbered choice or 我自己; a name sent instead is kept and the question
asked again; facts given twice instead of an answer make it the writer's own story (shown as 本人 at
the confirmation, to be corrected there if not)."""

from __future__ import annotations

import re

from bot.dialogue.base import Outcome
from bot.dialogue.context import Turn
from bot.dialogue.state import FlowFrame

_RE_REPORTS = re.compile(r"(?:来报|报案|报的|报)$")  # 阮自己报: it is me, and I report it


def answer(turn: Turn, frame: FlowFrame, *, told: bool) -> Outcome:
    """Take who was hurt from this message; ``told``: it gave values for other questions."""
    options = turn.copy.table("relation_choices")
    n = turn.digit(len(options))
    said = turn.norm.strip("啊呀啦，。！ ")
    head = re.split(r"[，,。.！!、；; ]", said, maxsplit=1)[0]
    selfs = turn.copy.words("self_answers")
    if n is not None or said in selfs or _RE_REPORTS.sub("", said) in selfs:
        frame.data["relation"] = str(options[n - 1]["value"]) if n is not None else "self"  # 我自己
        return "ok"
    tail = re.split(r"[，,。.！!、；; ]", said)[-1]
    # 是我自己 我叫郑木松 / 我叫姚振南 自己报: self, and the name
    if head != said and (head in selfs or _RE_REPORTS.sub("", head) in selfs
                         or tail in selfs or _RE_REPORTS.sub("", tail) in selfs):
        frame.data["relation"] = "self"
        first = head in selfs or _RE_REPORTS.sub("", head) in selfs
        rest = turn.plain[len(head):].strip("，,。.！!、；; ")
        name = (turn.extract.name(rest, whole=True) if first else None) or turn.extract.name(turn.plain)
        if name and "name" not in frame.secret:
            turn.keep_secret(frame, "name", name)
            turn.keep_note_secret("name", name)
        return "ok"
    name = None if "relation" in frame.data else turn.extract.name(turn.plain, whole=True)
    if name and "name" not in frame.secret:  # 翁振华: the next answer, kept; who it is asked again
        turn.keep_secret(frame, "name", name)
        turn.keep_note_secret("name", name)
        turn.say("noted")
    if "relation" not in frame.data and not name and told:
        frame.data["relation_skips"] = skips = int(frame.data.get("relation_skips", 0)) + 1
        if skips >= 2 and not turn.cue("on_behalf_words"):  # 昨日 / 卫生院 …: their own story
            frame.data["relation"] = "self"
    return "ok" if "relation" in frame.data or name else "pass"
