"""FAQ answers rendered from the product, with one follow-up suggestion."""

from __future__ import annotations

import logging

from bot.dialogue.context import Turn

log = logging.getLogger(__name__)
DEFAULT_TOPIC = "coverage_overview"


def answer(turn: Turn, *, follow_up: bool = True) -> None:
    """Answer a product question from the NLU's FAQ topic (the overview when none fits)."""
    topic = turn.pred.faq_topic or DEFAULT_TOPIC
    turn.log_slots["faq_topic"] = topic
    answer_topic(turn, topic, follow_up=follow_up)


def answer_topic(turn: Turn, topic: str, *, follow_up: bool = True) -> None:
    """Say the answer of ``topic`` and offer its follow-up as choice 1."""
    try:
        text = turn.services.faq_text(turn.product.id, topic)
    except KeyError:
        log.warning("no FAQ answer for topic %s", topic)
        turn.say("faq_none")
        return
    turn.say_text(text)
    nxt = turn.copy.table("faq_followups").get(topic)
    if follow_up and nxt and turn.state.frame is None:
        label = turn.copy.table("faq_topic_labels").get(nxt, nxt)
        turn.state.choice = {"kind": "faq", "options": [nxt]}
        turn.say("faq_followup", label=label)
