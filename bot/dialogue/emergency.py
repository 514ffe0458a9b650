"""Someone hurt right now: say "call 120" first and plainly, ask nothing else in that turn.

An emergency stays open (``state.notes["emergency"]``) while help is on its way: further messages
get short advice, not a report question. Once the person is on the way to (or at) a hospital the
report may start, gently; "等下再讲" closes it with the promise that the report can wait. What was
said meanwhile (who, when, what, which hospital) is already in the conversation's notes, so the
report does not ask it again. Many people hurt at once (戏棚倒了压着十几个老人) is a mass-casualty event:
the green channel and a person at once.
"""

from __future__ import annotations

import datetime as dt

from bot.dialogue import handoff
from bot.dialogue.context import Turn
from bot.dialogue.memory import died

ACTIVE = "active"


def is_urgent(turn: Turn) -> bool:
    """True when the message says someone is hurt now and help has not been called yet."""
    if turn.cue("help_called_words"):
        return False
    if turn.cue("ask_120_words"):  # 要不要打120 还是我自己载伊去峡山医院: yes, call it now
        return True
    urgent = bool(turn.fact("emergency")) or turn.cue("emergency_words")
    return urgent and not _past(turn)


def _past(turn: Turn) -> bool:
    """The injury is told after the fact (went to hospital, saw a doctor, the person has died, or an
    earlier message said they are at a hospital): no longer urgent."""
    notes = turn.state.notes
    return (bool(turn.extract.hospital(turn.plain)) or turn.cue("treated_words") or died(turn)
            or any(notes.get(k) for k in ("at_hospital", "hospital", "stay", "death"))
            or ((_days_ago(turn) or turn.cue("earlier_words")) and (
                not turn.cue("still_words") or turn.cue("in_bed_words"))))  # 早前跋倒，现在倒在眠床起唔来


def _days_ago(turn: Turn) -> bool:
    """The message dates the injury before today (前日被狗咬 流血): told after the fact, unless it
    says the person is still in danger (昨暝跋倒 到今早还起不来)."""
    iso = (turn.pred.slots or {}).get("date")
    try:
        return bool(iso) and dt.date.fromisoformat(str(iso)) < turn.today
    except ValueError:
        return False


def _gives_report_facts(turn: Turn) -> bool:
    """A name, ID number or phone number, or a report asked for: the caller has moved on to the report."""
    slots = turn.pred.slots or {}
    return bool(turn.extract.id_like(turn.norm) or turn.extract.phones(turn.norm)
                or slots.get("id_number") or slots.get("phone") or turn.cue("report_request_words")
                or turn.extract.name(turn.plain)
                # 120 is on its way: 蔡永福 / 我是他邻居 said alone are the report's answers
                or (turn.state.notes.get("called_120") and (turn.extract.name(turn.plain, whole=True)
                                                            or "relation_told" in turn.noted)))


def handle(turn: Turn) -> str | None:
    """Answer an emergency; the outcome: "said" (the turn is done), "report" (the person is on the
    way to a hospital: the caller may start the report now), or None (not about an emergency)."""
    notes = turn.state.notes
    if turn.cue("mass_words") and (turn.cue("injury_words") or turn.cue("emergency_words")
                                   or notes.get("emergency") == ACTIVE):
        notes.pop("emergency", None)
        notes["mass"] = True
        turn.say("mass_casualty")
        handoff.hand_off(turn, "urgent", quiet=True)
        return "said"
    if notes.get("emergency") != ACTIVE:
        if turn.cue("at_hospital_words"):  # 现在在医院: a later "流好多血" is no new emergency
            notes["at_hospital"] = True
        if is_urgent(turn):
            notes["emergency"] = ACTIVE
            if "date" not in notes:  # happening now: the report's day is today, unless a day is said later
                notes["date"] = turn.today.isoformat()
                notes["date_assumed"] = True
            turn.say("emergency")
            if turn.cue("help_person_words"):  # 你们能不能派人过去: a person too
                handoff.hand_off(turn, "urgent", quiet=True)
            return "said"
        return None
    if turn.cue("help_called_words"):
        notes["called_120"] = True  # the ambulance is on its way: not told to call it again
    if turn.cue("help_person_words"):  # 阿嬷听不懂普通话，你们有没有人能帮忙: a person, at once
        turn.say("emergency_waiting" if notes.get("called_120") else "emergency_again")
        handoff.hand_off(turn, "urgent")
        return "said"
    if turn.cue("human_words") or turn.cue("complaint_only_words") or (
            turn.confident and turn.pred.intent in ("human_agent", "complaint")
            and not turn.cue("help_called_words")):  # 打了 120说马上来: no complaint
        notes.pop("emergency", None)  # 我要投诉: no longer about the emergency
        return None
    if turn.asks and turn.cue("visit_words"):  # 恁有上门服务？: a visit asked for, no emergency any more
        notes.pop("emergency", None)
        return None
    if turn.cue("ask_120_words"):
        turn.say("emergency_again")  # 要不要打120: the answer is yes, and how to wait for it
        turn.state.last["emergency"] = "again"
        return "said"
    if turn.cue("calling_now_words") and not turn.asks:
        turn.say("emergency_waiting")  # 好好 我打: not told to call again
        return "said"
    if turn.extract.hospital(turn.plain) or turn.cue("at_hospital_words"):
        notes.pop("emergency", None)
        turn.say("emergency_at_hospital")
        return "report"
    if turn.cue("later_words") and not (turn.extract.id_like(turn.norm) or turn.extract.phones(turn.norm)):
        notes.pop("emergency", None)  # 我先带伊去医院 报案迟一下可以无: yes, later
        turn.say("emergency_later")
        return "said"
    if (_gives_report_facts(turn) or turn.cue("coverage_words")) and not turn.cue("emergency_words"):
        notes.pop("emergency", None)  # 我叫…, a phone number, 有得赔吗: the danger is over, the report begins
        turn.say("emergency_then_report")
        return "report"
    if turn.confident and turn.pred.intent in ("goodbye", "cancel"):
        notes.pop("emergency", None)
        turn.say("emergency_later")
        return "said"
    if turn.cue("help_called_words"):
        turn.say("emergency_waiting")
        return "said"
    turn.say("emergency_again" if turn.state.last.get("emergency") != "again"
             else "emergency_again_short")  # the same advice again: said shorter
    turn.state.last["emergency"] = "again"
    return "said"
