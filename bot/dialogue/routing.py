"""Where a message goes: the flow under way, a new flow or a one-shot answer (one table, ROUTES), and
what happens around them (emergencies, cancel, interruptions, numbered choices, misunderstandings)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.dialogue import (
    claim_progress,
    claim_report,
    complaint,
    contact,
    faq,
    handoff,
    home_visit,
    materials,
    policy,
)
from bot.dialogue.base import Flow
from bot.dialogue.context import NoPrediction, Prediction, Turn
from bot.dialogue.copy import Copy
from bot.dialogue.state import FlowFrame

log = logging.getLogger(__name__)

FLOWS: dict[str, Flow] = {
    f.name: f
    for f in (
        claim_report.ClaimReportFlow(),
        claim_progress.ClaimProgressFlow(),
        complaint.ComplaintFlow(),
        home_visit.HomeVisitFlow(),
        policy.PolicyLookupFlow(),
        policy.InfoUpdateFlow(),
        materials.AttachFlow(),
    )
}


@dataclass(frozen=True, slots=True)
class OneShot:
    """An intent answered in one message; ``mid_flow``: also while a flow waits (which then resumes)."""

    answer: Callable[[Turn], None]
    mid_flow: bool = False


def _product_question(turn: Turn) -> None:
    faq.answer(turn, follow_up=turn.state.frame is None)


def _ask_for_person(turn: Turn) -> None:
    handoff.hand_off(turn, "asked")


def _goodbye(turn: Turn) -> None:
    turn.say("goodbye")


def _out_of_scope(turn: Turn) -> None:
    turn.say("out_of_scope", product=turn.product.short_name)
    turn.say("menu")


# Intent → the flow it starts, or its one-shot answer. Any other intent (greeting, affirm, deny
# outside a flow) gets a hello and the menu.
ROUTES: dict[str, Flow | OneShot] = {
    "product_question": OneShot(_product_question, mid_flow=True),
    "claim_materials": OneShot(materials.answer_question, mid_flow=True),
    "contact_info": OneShot(contact.answer, mid_flow=True),
    "human_agent": OneShot(_ask_for_person),
    "goodbye": OneShot(_goodbye),
    "out_of_scope": OneShot(_out_of_scope),
    **{name: FLOWS[name] for name in ("claim_report", "claim_progress", "complaint", "home_visit",
                                       "policy_lookup", "info_update")},
}
# Intents that interrupt a flow under way: questions answered mid-flow, and the other flows.
INTERRUPT_INTENTS = frozenset(
    intent for intent, route in ROUTES.items() if isinstance(route, Flow) or route.mid_flow)
# Intents offered as numbered choices when the NLU is not sure.
CHOICE_INTENTS = ("product_question", "claim_report", "claim_materials", "claim_progress", "complaint",
                  "home_visit", "contact_info", "policy_lookup", "info_update", "human_agent")
_QUIET_EVENTS = frozenset({"unsubscribe", "view", "location"})


class Router:
    """Runs one turn: routes the message and lets the flows answer (safe across threads)."""

    def __init__(self, *, nlu: Any, copy: Copy) -> None:
        self.nlu = nlu
        self.copy = copy
        self.max_misses = int(copy.table("max_misunderstandings"))

    def dispatch(self, turn: Turn) -> None:
        """Answer the message of ``turn`` (its replies and state change in place)."""
        kind = turn.message.kind
        if kind == "event":
            self._event(turn)
        elif kind in ("text", "voice"):
            self._text(turn)
        elif kind == "image":
            self._image(turn)
        elif kind == "location":
            frame = turn.state.frame
            if frame is None or not FLOWS[frame.flow].on_location(turn, frame):
                turn.say("location_received")
        elif kind == "link":
            turn.say("link_received")
        elif kind in ("video", "shortvideo"):
            turn.say("video_received")
        elif kind == "file":
            turn.say("file_received")
        else:
            turn.say("unknown_kind")
        self._resume(turn)

    def _event(self, turn: Turn) -> None:
        event = (turn.message.event or "").lower()
        if event in ("subscribe", "scan"):
            turn.state.frame = turn.state.suspended = None
            turn.say("welcome", product=turn.product.short_name, region=turn.product.region.district)
            turn.say("menu")
        elif event == "unsubscribe":
            turn.state.frame = turn.state.suspended = None
        elif event == "click":
            intent = self.copy.table("menu_keys").get(turn.message.event_key or "")
            if intent is None:
                turn.say("menu")
                return
            turn.pred = NoPrediction(intent=intent, confidence=1.0)
            self._start_intent(turn, intent)
        elif event not in _QUIET_EVENTS:
            log.info("dialogue ignores event type %s", event[:32])

    def _image(self, turn: Turn) -> None:
        frame = turn.state.frame
        if frame is not None and FLOWS[frame.flow].on_image(turn, frame):
            return
        if materials.on_image(turn):
            return
        turn.state.choice = {"kind": "image", "options": ["attach", "other"],
                             "media_id": turn.message.media_id or ""}
        turn.say("image_what_for")

    def read(self, turn: Turn) -> Prediction:
        """The NLU's reading of the text (made once per turn, or carried over from an offline attempt)."""
        if turn.reading is None:
            turn.reading = self.nlu.predict(turn.text[:500], now=turn.now)
        return turn.reading

    def _text(self, turn: Turn) -> None:
        state = turn.state
        text = turn.text
        if not text:
            turn.say("voice_empty")
            return
        if self.copy.contains_any("emergency_words", text):
            turn.say("emergency")
        choice, state.choice = state.choice, None
        if choice is not None and state.frame is None:
            n = turn.digit(len(choice["options"]))
            if n is not None:
                self._pick(turn, choice, choice["options"][n - 1])
                return
        turn.pred = self.read(turn)
        intent = turn.pred.intent
        short = len(text) <= 8
        if (short and self.copy.contains_any("human_words", text)) or (
            turn.confident and intent == "human_agent"
        ):
            handoff.hand_off(turn, "asked")
            return
        cancel = short and self.copy.contains_any("cancel_words", text)
        if cancel or (turn.confident and intent == "cancel"):
            self._cancel(turn)
            return
        in_complaint = state.frame is not None and state.frame.flow == "complaint"
        if intent == "complaint" and not in_complaint and (
            turn.confident or self.copy.contains_any("angry_words", text)
        ):
            angry = self.copy.contains_any("angry_words", text)
            if angry or state.complaints >= 1:
                state.complaints += 1
                handoff.hand_off(turn, "angry" if angry else "complaint")
                return
        frame = state.frame
        if frame is None:
            self._route(turn)
            return
        outcome = FLOWS[frame.flow].answer(turn, frame)
        if outcome == "ok":
            state.misses = 0
            return
        if outcome == "pass" and turn.interrupts(frame):
            state.misses = 0
            self._interrupt(turn, frame)
            return
        if self._miss(turn):
            return
        if outcome == "pass":
            turn.say("not_understood")
        FLOWS[frame.flow].ask(turn, frame)

    def _miss(self, turn: Turn) -> bool:
        """Count a misunderstanding; True when it was one too many and a person takes over."""
        turn.state.misses += 1
        if turn.state.misses >= self.max_misses:
            handoff.hand_off(turn, "misunderstood")
            return True
        return False

    def _cancel(self, turn: Turn) -> None:
        state = turn.state
        if state.frame is not None or state.suspended is not None:
            state.frame = state.suspended = None
            turn.say("cancelled")
        else:
            turn.say("nothing_to_cancel")
        state.pending_media = []
        state.misses = 0
        turn.say("menu")

    def _route(self, turn: Turn) -> None:
        if not turn.confident:
            if self._miss(turn):
                return
            options = [i for i, _ in self.nlu.top_intents(turn.text[:500], k=6) if i in CHOICE_INTENTS]
            options = options[: int(self.copy.table("low_confidence_choices"))]
            if not options:
                turn.say("not_understood")
                turn.say("menu")
                return
            labels = [self.copy.table("intent_labels")[i] for i in options]
            turn.state.choice = {"kind": "intent", "options": options}
            turn.ask_choice("did_you_mean", labels)
            return
        turn.state.misses = 0
        self._start_intent(turn, turn.pred.intent)

    def _interrupt(self, turn: Turn, frame: FlowFrame) -> None:
        route = ROUTES.get(turn.pred.intent)
        if isinstance(route, OneShot) and route.mid_flow:
            route.answer(turn)
            turn.say("resume")
            FLOWS[frame.flow].ask(turn, frame)
            return
        turn.state.suspended = frame
        turn.state.frame = None
        self._start_intent(turn, turn.pred.intent)

    def _resume(self, turn: Turn) -> None:
        """After a flow ended, come back to the one it interrupted."""
        state = turn.state
        if state.frame is None and state.suspended is not None:
            state.frame, state.suspended = state.suspended, None
            turn.say("resume")
            FLOWS[state.frame.flow].ask(turn, state.frame)

    def _pick(self, turn: Turn, choice: dict[str, Any], option: str) -> None:
        kind = choice["kind"]
        turn.log_slots["choice"] = option
        if kind == "intent":
            turn.pred = NoPrediction(intent=option, confidence=1.0)
            turn.state.misses = 0
            self._start_intent(turn, option)
        elif kind == "faq":
            faq.answer_topic(turn, option)
        elif kind == "image":
            if option == "attach":
                materials.start_attach(turn, choice.get("media_id", ""))
            else:
                turn.say("image_other")

    def _general_question(self, turn: Turn, intent: str) -> bool:
        """Answer a general question about a service from the FAQ, offering the flow as choice 1.
        The NLU reads such a question (理赔要多久) as product_question or as the flow's own intent."""
        topic = getattr(turn.pred, "faq_topic", None)
        state = turn.state
        flow = self.copy.table("general_topics").get(topic)
        if flow is None or intent not in (flow, "product_question") or state.frame or state.suspended:
            return False
        intent = str(flow)
        slots = getattr(turn.pred, "slots", None) or {}
        if "claim_no" in slots or "id_number" in slots or self.copy.contains_any("personal_words", turn.text):
            return False
        faq.answer_topic(turn, str(topic), follow_up=False)
        turn.state.choice = {"kind": "intent", "options": [intent]}
        turn.say("general_then_flow", label=self.copy.table("intent_labels")[intent])
        return True

    def _start_intent(self, turn: Turn, intent: str) -> None:
        if self._general_question(turn, intent):
            return
        route = ROUTES.get(intent)
        if isinstance(route, Flow):
            frame = FlowFrame(flow=route.name)  # a flow under way with the same name starts over
            turn.state.frame = frame
            route.start(turn, frame)
        elif route is not None:
            route.answer(turn)
        else:  # greeting, affirm, deny outside a flow
            turn.say("hello")
            turn.say("menu")
