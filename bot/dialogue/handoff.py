"""Hand the conversation to a person: record a HandoffRequest and tell the customer how soon.

What the customer already told (who, when, what, hospital, name, phone) goes with the request,
encrypted, so the person does not ask it again; a flow under way is kept as it was (a draft report
stays a draft) and is dropped from the bot's side only: the person finishes it.
"""

from __future__ import annotations

from backend.handoff.customer import outside_hours_message
from backend.handoff.queue import opening
from backend.handoff.service import open_handoff, request_handoff
from backend.security.masking import scrub_text
from bot.dialogue import memory
from bot.dialogue.context import Turn
from bot.dialogue.desk import AFTER_HOURS

_REPLY = {"asked": "handoff", "misunderstood": "handoff_misunderstood", "angry": "handoff_angry",
          "complaint": "handoff_angry", "urgent": "handoff"}


def hand_off(turn: Turn, reason: str, *, quiet: bool = False) -> None:
    """Queue a person for this customer (once) and say they will reply within the standard
    (``quiet``: the caller already said it)."""
    msg = turn.message
    state = turn.state
    minutes = turn.product.service_standards.online_first_response_minutes
    already = open_handoff(turn.session, channel=msg.channel, user_id=msg.user_id)
    frame = state.frame or state.suspended
    draft = _draft(turn)
    opens = opening(turn.now, turn.services.calendar) if already is None else None
    row = request_handoff(turn.session, channel=msg.channel, user_id=msg.user_id, reason=reason,
                          flow=frame.flow if frame else None, summary=_summary(turn),
                          private_values=turn.private_values, cipher=turn.services.cipher,
                          payload=draft or None, now=turn.now, intent=turn.pred.intent or None,
                          opens_at=opens)
    state.notes["handoff"] = reason
    state.frame = state.suspended = None
    state.choice = None
    state.misses = 0
    turn.log_slots["handoff"] = reason
    wait = (turn.services.handoff.queued(turn.session, row, turn.now, tell=opens is None)
            if already is None else None)
    if opens is not None:  # nobody answers now: the hours, and a message or call-back meanwhile
        state.notes[AFTER_HOURS] = True
        if not quiet:
            turn.say_text(outside_hours_message(turn.now, turn.services.calendar))
        return
    if quiet:
        return
    if already is not None:
        turn.say("handoff_waiting", minutes=minutes)
        return
    key = _REPLY.get(reason, "handoff")
    if wait is None or (row.told_high_s or 0) <= minutes * 60:
        turn.say(key, minutes=minutes)  # the standard holds for this wait
    else:
        turn.say(key + "_now")  # no promise the queue cannot keep: the range below says how long
    if wait:
        turn.say_text(wait)


def _draft(turn: Turn) -> dict[str, str]:
    """What the customer told so far (the notes, and the flow under way), for the person."""
    out = memory.summary(turn)
    frame = turn.state.frame or turn.state.suspended
    if frame is not None:
        out["flow"] = frame.flow
        for key, value in frame.data.items():
            if isinstance(value, str | int | bool) and key not in out:
                out[key] = str(value)
        for key in frame.secret:
            value = turn.secret(frame, key)
            if value:
                out[key] = value
    return out


def _summary(turn: Turn) -> str:
    """What the customer last wrote, masked, for the agent."""
    return scrub_text(turn.text[:200], private_values=turn.private_values)
