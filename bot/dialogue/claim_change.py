"""A change to a claim already reported (日期报错了, 医院要改, 名字打错了, 上次那个撤掉): recorded as a
request for staff, with the case number when the customer has it; nothing of the claim is changed here.
The info update flow runs it as its field ``claim``."""

from __future__ import annotations

import re
from typing import Protocol

from bot.dialogue import fields
from bot.dialogue.base import Outcome
from bot.dialogue.context import Turn
from bot.dialogue.memory import case_ref
from bot.dialogue.state import FlowFrame


class InfoUpdateFlow(Protocol):
    """What this module needs of the info update flow that runs it."""

    def request(self, turn: Turn, frame: FlowFrame, *, summary: str, field: str, value: str = "") -> int: ...

    def finish(self, turn: Turn) -> None: ...

FIELD = "claim"
# 不是陈瑞兰 是陈蕊兰: what it becomes (the wrong value is not kept)
_RE_FIXED = re.compile(r"(?:不是|唔是|不系|唔系)[^，,。.!！?？]*?[，, ]*(?:是|系)\s*(.+)$")
_RE_NOT_WORDS = re.compile(r"[a-z0-9\s]+")
_RE_ONLY_CASE = re.compile(r"^[^\u4e00-\u9fff]*(?:报案号|案件号|案号|案子|编号)?[^\u4e00-\u9fff]*$")


def wanted(turn: Turn) -> bool:
    """True when the message asks to change (or withdraw) a claim reported before: a case number or
    报过案 with a word of change, and no phone, bank card or address named (updates of their own)."""
    reported = bool(case_ref(turn) or turn.cue("already_reported_words") or turn.cue("earlier_report_words")
                    or turn.state.notes.get("case_ref") or turn.state.claim
                    or (turn.cue("misreported_words") and "报" in turn.norm))  # 上礼拜帮阿爸报案 日期写错了
    return reported and turn.cue("claim_fix_words") and not fields.update_fields(turn)


def prefill(turn: Turn, frame: FlowFrame) -> None:
    frame.data["field"] = FIELD
    frame.data.pop("more_fields", None)
    detail, withdraw = _detail(turn), turn.cue("withdraw_words")
    if turn.state.last.get("claim_change") and not detail and not withdraw:
        frame.data["already"] = turn.state.last["claim_change"]  # 帮我改一下 after it was recorded
    elif withdraw:
        frame.data["withdraw"] = True
    elif detail:
        turn.keep_secret(frame, "value", _new_value(turn))


def ask(flow: InfoUpdateFlow, turn: Turn, frame: FlowFrame) -> None:
    """The case number (once), then what to change, then the request."""
    if frame.data.get("already"):
        turn.say("iu_claim_already", number=frame.data["already"])
        flow.finish(turn)
    elif not frame.data.get("case_ref") and not frame.data.get("case_asked"):
        frame.data["case_asked"] = True
        frame.step = "case_ref"
        turn.say("iu_ask_case")
    elif "value" not in frame.secret and not frame.data.get("withdraw"):
        frame.step = "value"
        turn.say("iu_ask_claim")
    else:
        record(flow, turn, frame)


def answer(flow: InfoUpdateFlow, turn: Turn, frame: FlowFrame) -> Outcome:
    ref = case_ref(turn)
    if ref:
        frame.data["case_ref"] = ref
    if frame.step == "case_ref" and not ref and not turn.cue("case_unknown_words") and len(turn.norm) < 4:
        return "pass"
    if frame.step in ("case_ref", "value") and not _RE_ONLY_CASE.match(turn.norm) \
            and not turn.cue("case_unknown_words") and "value" not in frame.secret:
        if turn.interrupts(frame) and not _detail(turn):
            return "pass"
        turn.keep_secret(frame, "value", _new_value(turn))  # 不是陈瑞兰 是陈蕊兰 where the number was asked
    ask(flow, turn, frame)
    return "ok"


def record(flow: InfoUpdateFlow, turn: Turn, frame: FlowFrame) -> None:
    withdraw = bool(frame.data.get("withdraw"))
    value = turn.secret(frame, "value") or ""
    what = "撤销报案" if withdraw else "修改报案内容"
    ref = frame.data.get("case_ref")
    summary = f"{what}（案件号{ref}）" if ref else f"{what}（没有案件号，按电话核对）"
    number = flow.request(turn, frame, summary=summary, field=FIELD, value=value[:300] or what)
    turn.say("iu_withdraw_done" if withdraw else "iu_claim_done", number=number)
    turn.state.last["claim_change"] = number
    flow.finish(turn)


def _detail(turn: Turn) -> bool:
    """True when the message says what the change is (a day, a place, a name, more than a request)."""
    slots = turn.pred.slots or {}
    words = _RE_NOT_WORDS.sub("", turn.norm)  # the case number and spaces are no detail
    return bool(slots.get("date") or turn.extract.hospital(turn.plain) or _RE_FIXED.search(turn.norm)
                or turn.extract.lunar(turn.plain) or len(words) >= 20)


def _new_value(turn: Turn) -> str:
    m = _RE_FIXED.search(turn.plain)
    return (m.group(1) if m else turn.plain).strip()[:300]

