"""Where a message goes: the flow under way, a new flow or a one-shot answer (one table, ROUTES), and
what happens around them (emergencies first, a person asked for, cancel, interruptions, numbered
choices, misunderstandings). Non-text messages are answered for what they are."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.dialogue import (
    claim_progress,
    claim_report,
    complaint,
    consent,
    contact,
    emergency,
    faq,
    handoff,
    home_visit,
    info_update,
    materials,
    memory,
    oneshots,
    pieces,
    policy,
    understanding,
)
from bot.dialogue.base import Flow
from bot.dialogue.context import NoPrediction, Prediction, Turn
from bot.dialogue.copy import Copy
from bot.dialogue.state import FlowFrame
from bot.dialogue.text_turns import TRIES, TextTurns
from intents import Context

log = logging.getLogger(__name__)

FLOWS: dict[str, Flow] = {
    f.name: f
    for f in (
        claim_report.ClaimReportFlow(),
        claim_progress.ClaimProgressFlow(),
        complaint.ComplaintFlow(),
        home_visit.HomeVisitFlow(),
        policy.PolicyLookupFlow(),
        info_update.InfoUpdateFlow(),
        materials.AttachFlow(),
    )
}


@dataclass(frozen=True, slots=True)
class OneShot:
    """An intent answered in one message; ``mid_flow``: also while a flow waits (which then resumes)."""

    answer: Callable[[Turn], None]
    mid_flow: bool = False


def _product_question(turn: Turn) -> None:
    oneshots.product_question(turn, follow_up=turn.state.frame is None)


def _ask_for_person(turn: Turn) -> None:
    handoff.hand_off(turn, "asked")


def _goodbye(turn: Turn) -> None:
    turn.say("goodbye")


# Intent → the flow it starts, or its one-shot answer. Any other intent (greeting, affirm, deny
# outside a flow) gets a hello and the menu.
ROUTES: dict[str, Flow | OneShot] = {
    "product_question": OneShot(_product_question, mid_flow=True),
    "claim_materials": OneShot(oneshots.claim_materials, mid_flow=True),
    "contact_info": OneShot(contact.answer, mid_flow=True),
    "human_agent": OneShot(_ask_for_person),
    "goodbye": OneShot(_goodbye),
    "out_of_scope": OneShot(oneshots.out_of_scope),
    **{name: FLOWS[name] for name in ("claim_report", "claim_progress", "complaint", "home_visit",
                                       "policy_lookup", "info_update")},
}
# Intents that interrupt a flow under way: questions answered mid-flow, and the other flows.
INTERRUPT_INTENTS = frozenset(
    intent for intent, route in ROUTES.items() if isinstance(route, Flow) or route.mid_flow)
_QUIET_EVENTS = frozenset({"unsubscribe", "view", "location"})
_YES_NO = ("affirm", "deny", "cancel")
_FINISHED_STEPS = ("more", "booked")  # a flow done but listening for additions


class Router(TextTurns):
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
            if kind == "voice":
                materials.on_voice(turn)  # kept for the claim (W-16); its text is answered as ever
            self._text(turn)
            self._remember_last(turn)
        elif kind == "image":
            self._image(turn)
        elif kind == "location":
            frame = turn.state.frame
            if frame is None or not FLOWS[frame.flow].on_location(turn, frame):
                turn.say("location_received")
        elif kind == "link":
            turn.say("link_received")
        elif kind in ("video", "shortvideo"):
            self._video(turn)
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
            keys = {str(k).upper(): v for k, v in self.copy.table("menu_keys").items()}
            intent = keys.get((turn.message.event_key or "").strip().upper())
            if intent is None:
                turn.say("menu")
                return
            turn.pred = NoPrediction(intent=intent, confidence=1.0)
            self._start_intent(turn, intent)
        elif event not in _QUIET_EVENTS:
            log.info("dialogue ignores event type %s", event[:32])

    def _image(self, turn: Turn) -> None:
        frame = turn.state.frame
        if frame is not None and frame.step not in _FINISHED_STEPS:
            if not FLOWS[frame.flow].on_image(turn, frame):
                turn.say("image_in_flow")
                FLOWS[frame.flow].remind(turn, frame)
            return
        turn.state.frame = None
        if materials.on_image(turn):
            return
        turn.state.choice = {"kind": "image", "options": ["claim_report"],
                             "media_id": turn.message.media_id or ""}
        turn.say("image_what_for")

    def _video(self, turn: Turn) -> None:
        """A video cannot be kept as a claim document: photos, please (and the flow goes on)."""
        if not materials.for_claim(turn):
            turn.say("video_received")
            return
        turn.say("video_for_claim")
        frame = turn.state.frame
        if frame is not None and frame.step not in _FINISHED_STEPS:
            FLOWS[frame.flow].remind(turn, frame)

    def read(self, turn: Turn) -> Prediction:
        """The NLU's reading, with the previous turn as context (once a turn, or from an offline try)."""
        if turn.reading is None:
            last, frame = turn.state.last, turn.state.frame
            step = frame.step if frame is not None else None
            expects = _YES_NO if step and (step == "confirm" or step.startswith("consent_")) else ()
            context = Context(intent=last.get("intent"), faq_topic=last.get("topic"), expects=expects,
                              flow_step=step) if (last or expects) else None
            turn.reading = understanding.read_past_greeting(self.nlu, turn, context)
        return turn.reading

    # ------------------------------------------------------------------ text
    def _text(self, turn: Turn) -> None:
        state = turn.state
        if not turn.text:
            self._voice_empty(turn)
            return
        choice, state.choice = state.choice, None
        turn.choice_before = choice
        if choice is not None and (state.frame is None or choice.get("kind") == "stuck"):
            n = turn.digit(len(choice["options"]))
            if n is None and len(choice["options"]) == 1 and understanding.plain_yes(turn):
                n = 1  # "要报案，请回复1" answered 同意 / 对 / 好的: the one thing offered
            if n is not None:
                self._pick(turn, choice, choice["options"][n - 1])
                return
        turn.pred = self.read(turn)
        if pieces.join(turn):  # the start of a number: the rest is waited for
            state.choice = choice
            turn.say("digits_more")
            return
        memory.remember(turn)
        urgent = emergency.handle(turn)
        if urgent == "said":
            return
        if urgent == "report":
            self._report_after_emergency(turn)
            return
        if choice is not None and choice.get("kind") == "image" and (turn.pred.slots or {}).get("claim_no") \
                and not turn.cue("progress_words"):
            case_no = str(turn.pred.slots["claim_no"])
            materials.start_attach(turn, str(choice.get("media_id", "")), case_no=case_no)
            return
        understanding.refine(turn)
        taken = understanding.offer_taken(turn, choice)  # a fact or a story instead of the "1"
        if taken:
            return self._start_report(turn, anyway=False) if taken == "claim_report" else \
                self._start_intent(turn, taken, chosen=True)
        if understanding.wants_person(turn):
            consent.refuse_in_passing(turn)
            handoff.hand_off(turn, "asked")
            return
        short = len(turn.norm) <= 8
        if (short and turn.cue("cancel_words")) or (turn.confident and turn.pred.intent == "cancel"):
            self._cancel(turn)
            return
        frame = state.frame
        if frame is None:
            self._route(turn)
            return
        outcome = FLOWS[frame.flow].answer(turn, frame)
        if outcome == "ok":
            state.misses = 0
            frame.data.pop(TRIES, None)
            return
        if outcome == "pass" and turn.interrupts(frame):
            state.misses = 0
            self._interrupt(turn, frame)
            return
        if outcome == "pass" and self._aside(turn):
            state.misses = 0
            if state.frame is frame:
                turn.say("resume")
                FLOWS[frame.flow].remind(turn, frame)
            return
        if frame.step in _FINISHED_STEPS:
            state.frame = None
            self._route(turn)
            return
        if self._miss(turn) or self._stuck(turn, frame):
            return
        if outcome == "pass":
            turn.say("not_understood")
        FLOWS[frame.flow].remind(turn, frame)

    def _voice_empty(self, turn: Turn) -> None:
        if turn.state.notes.get("emergency") == emergency.ACTIVE:
            turn.say("voice_empty_emergency")
            return
        turn.say("voice_empty")
        frame = turn.state.frame
        if frame is not None and frame.step not in _FINISHED_STEPS:
            FLOWS[frame.flow].remind(turn, frame)

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

    def _interrupt(self, turn: Turn, frame: FlowFrame) -> None:
        route = ROUTES.get(turn.pred.intent)
        if frame.step in _FINISHED_STEPS:
            turn.state.frame = None
            self._start_intent(turn, turn.pred.intent)
            return
        if isinstance(route, OneShot) and route.mid_flow:
            if not self._several_questions(turn):  # 要什么材料 多久能赔: each answered, else the one
                route.answer(turn)
            turn.say("resume")
            FLOWS[frame.flow].remind(turn, frame)
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
            FLOWS[state.frame.flow].remind(turn, state.frame)

    def _remember_last(self, turn: Turn) -> None:
        last = turn.state.last
        if turn.pred.intent:
            last["intent"] = turn.pred.intent
        topic = turn.log_slots.get("faq_topic")
        if topic:
            last["topic"] = topic
        elif turn.pred.intent not in ("product_question", "affirm", "deny", "goodbye", "out_of_scope", ""):
            last.pop("topic", None)

    def _pick(self, turn: Turn, choice: dict[str, Any], option: str) -> None:
        kind = choice["kind"]
        turn.log_slots["choice"] = option
        if kind in ("intent", "image"):
            turn.pred = NoPrediction(intent=option, confidence=1.0)
            turn.state.misses = 0
            if option == "claim_report_anyway":
                self._start_report(turn, anyway=True)
            else:
                self._start_intent(turn, option, chosen=True)
        elif kind == "stuck":
            frame = turn.state.frame
            if option == "human_agent" or frame is None:
                handoff.hand_off(turn, "asked")
            else:
                FLOWS[frame.flow].remind(turn, frame)
        elif kind == "faq":
            faq.answer_topic(turn, option)
            turn.log_slots["faq_topic"] = option
            turn.state.last["topic"] = option

    def _general_question(self, turn: Turn, intent: str) -> bool:
        """Answer a general question about a service from the FAQ, offering the flow as choice 1.
        The NLU reads such a question (理赔要多久) as product_question or as the flow's own intent."""
        topic = getattr(turn.pred, "faq_topic", None)
        state = turn.state
        if intent == "claim_progress" and topic is None and turn.cue("timeline_words") and not (
                turn.pred.slots or {}).get("claim_no") and (state.claim or state.last.get("progress_done")
                                                             or not turn.cue("personal_words")):
            topic = "claim_timeline"  # 资料交齐了几时能到钱: the rule, then the case if they want it
        flow = self.copy.table("general_topics").get(topic)
        if flow is None or intent not in (flow, "product_question") or state.frame or state.suspended:
            return False
        intent = str(flow)
        slots = getattr(turn.pred, "slots", None) or {}
        if "claim_no" in slots or "id_number" in slots or "age" in slots or (
                turn.cue("personal_words") and topic != "claim_timeline"):
            return False
        faq.answer_topic(turn, str(topic), follow_up=False)
        turn.log_slots["faq_topic"] = topic
        turn.state.choice = {"kind": "intent", "options": [intent]}
        turn.say("general_then_flow", label=self.copy.table("intent_labels")[intent])
        return True

    def _start_intent(self, turn: Turn, intent: str, *, chosen: bool = False) -> None:
        if self._general_question(turn, intent):
            return
        if intent == "claim_report" and not chosen and self._report_question(turn):
            return
        if intent == "claim_report" and not chosen and turn.cue("already_reported_words") and (
                turn.cue("visit_words") or turn.cue("cannot_go_words")):
            intent = "home_visit"  # 已经报过案了，材料伊唔会弄，能唔能派人去厝: the visit asked for
        elif intent == "claim_report" and not chosen and self._reported_before(turn):
            options = ["claim_progress", "home_visit", "claim_materials"]  # not a second report
            if memory.died(turn):
                turn.say("condolence")  # 礼拜二已经报了案，礼拜六人走了: sorrow first
            turn.state.choice = {"kind": "intent", "options": options}
            turn.ask_choice("already_reported", [self.copy.table("intent_labels")[i] for i in options])
            return
        if intent == "policy_lookup" and not chosen and self._policy_question(turn):
            return
        route = ROUTES.get(intent)
        if isinstance(route, Flow):
            frame = FlowFrame(flow=route.name)  # a flow under way with the same name starts over
            turn.state.frame = frame
            route.start(turn, frame)
        elif route is not None:
            route.answer(turn)
        elif turn.state.last.get("intent") and intent in ("affirm", "goodbye", "deny"):
            turn.say("ack")
        else:  # greeting, affirm, deny outside a flow
            turn.say("hello")
            turn.say("menu")

    def _report_after_emergency(self, turn: Turn) -> None:
        frame = FlowFrame(flow="claim_report", data={"quiet_start": True})
        turn.state.frame = frame
        FLOWS["claim_report"].start(turn, frame)

    def _start_report(self, turn: Turn, *, anyway: bool) -> None:
        data: dict[str, Any] = {"cause_asked": True, "accident": "other"} if anyway else {}
        frame = FlowFrame(flow="claim_report", data=data)
        turn.state.frame = frame
        FLOWS["claim_report"].start(turn, frame)
