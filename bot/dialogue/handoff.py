"""Hand the conversation to a person: record a HandoffRequest and tell the customer how soon."""

from __future__ import annotations

from backend.handoff.service import open_handoff, request_handoff
from bot.dialogue.context import Turn

_REPLY = {"asked": "handoff", "misunderstood": "handoff_misunderstood", "angry": "handoff_angry",
          "complaint": "handoff_angry"}


def hand_off(turn: Turn, reason: str) -> None:
    """Queue a person for this customer (once) and say they will reply within the standard."""
    msg = turn.message
    state = turn.state
    minutes = turn.product.service_standards.online_first_response_minutes
    already = open_handoff(turn.session, channel=msg.channel, user_id=msg.user_id)
    flow = state.frame.flow if state.frame else None
    request_handoff(turn.session, channel=msg.channel, user_id=msg.user_id, reason=reason, flow=flow,
                    summary=_summary(turn), now=turn.now)
    state.frame = state.suspended = None
    state.choice = None
    state.misses = 0
    turn.log_slots["handoff"] = reason
    turn.say("handoff_waiting" if already is not None else _REPLY.get(reason, "handoff"), minutes=minutes)


def _summary(turn: Turn) -> str:
    """What the customer last wrote, masked, for the agent."""
    from backend.security.masking import scrub_text

    return scrub_text(turn.text[:200], private_values=turn.private_values)
