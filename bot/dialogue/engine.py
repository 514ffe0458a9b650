"""The dialogue engine: one customer message in, the bot's replies out (implements TurnHandler).

Each turn loads the customer's state from Redis, reads the message with the NLU, lets the flow under
way (or a new one) answer, stores the turn in the database in one transaction, and saves the state
only after that transaction commits, so a failed turn can simply be sent again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar
from backend.conversations.service import insert_turn, turn_row
from backend.conversations.turns import find_turn
from backend.db import session_scope, utcnow
from backend.handoff.service import agent_owns_conversation
from backend.runtime import Runtime
from bot.contract import BotReply, InboundMessage, StateWrite, TurnResult
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
from bot.dialogue.context import NoPrediction, Turn
from bot.dialogue.copy import Copy
from bot.dialogue.state import FlowFrame, SecretBox, State, StateStore

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
# Intents answered in one message (a flow under way resumes afterwards).
ONE_SHOT = frozenset({"product_question", "claim_materials", "contact_info"})
INTERRUPT_INTENTS = ONE_SHOT | frozenset(
    {"claim_report", "claim_progress", "complaint", "home_visit", "policy_lookup", "info_update"}
)
CHOICE_INTENTS = ("product_question", "claim_report", "claim_materials", "claim_progress", "complaint",
                  "home_visit", "contact_info", "policy_lookup", "info_update", "human_agent")
_QUIET_EVENTS = frozenset({"unsubscribe", "view", "templatesendjobfinish", "location",
                           "subscribe_msg_popup_event", "subscribe_msg_change_event",
                           "subscribe_msg_sent_event", "view_miniprogram"})


class NeedsDatabase(BaseException):
    """An offline turn reached for the database (see :meth:`DialogueEngine.handle_offline`).

    A BaseException so that no ``except Exception`` in a flow can swallow it.
    """


class _NoSession:
    """Stands in for the session of an offline turn: any use raises NeedsDatabase."""

    def __getattr__(self, name: str) -> Any:
        raise NeedsDatabase(name)


@dataclass(frozen=True, slots=True)
class OfflineTurn:
    """An offline turn's replies and state writes, and its conversation-turn row to insert."""

    result: TurnResult
    turn_row: dict[str, Any]


class DialogueEngine:
    """Answers customer messages; safe to call from several worker threads."""

    def __init__(self, runtime: Runtime, *, nlu: Any, copy: Copy | None = None) -> None:
        self.runtime = runtime
        self.nlu = nlu
        self.copy = copy or Copy.load()
        self.box = SecretBox(runtime.cipher)
        self.store = StateStore(runtime.redis, ttl_seconds=int(self.copy.table("state_ttl_seconds")),
                                guard=lambda: runtime.redis_guard)
        self.threshold = float(getattr(nlu, "low_confidence_threshold", 0.5))
        self.interrupt_intents = INTERRUPT_INTENTS
        self.max_misses = int(self.copy.table("max_misunderstandings"))
        self.calendar: WorkingCalendar = runtime.calendar
        self._faq_cache: dict[tuple[str, str], tuple[object, str]] = {}

    def faq_text(self, product_id: str, topic: str) -> str:
        """The FAQ answer of ``topic`` rendered from the product (KeyError for an unknown topic).

        Cached for as long as the catalog holds the same product data: rendering costs more than
        the rest of a FAQ turn, and the answer depends on nothing else.
        """
        data = self.runtime.catalog.raw_data(product_id)
        hit = self._faq_cache.get((product_id, topic))
        if hit is not None and hit[0] is data:
            return hit[1]
        text = str(self.nlu.faq_answer(topic, data)).strip()
        self._faq_cache[(product_id, topic)] = (data, text)
        return text

    # ------------------------------------------------------------------ entry point
    def handle(self, message: InboundMessage) -> list[BotReply]:
        """Answer one message; never raises, never shows an error to the customer."""
        try:
            return self._handle(message)
        except Exception as exc:
            log.exception("dialogue turn failed: %s", type(exc).__name__)
            return [BotReply(text=self.copy.t("system_busy"))]

    def handle_in(self, message: InboundMessage, *, session: Session) -> TurnResult:
        """Answer one message in the caller's transaction (no commit); raises on failure.

        The caller owns exactly-once (its inbox row commits with this turn), commits, and only then
        applies the returned state write, so a failed transaction leaves the conversation untouched.
        """
        state, state_ok = self.store.load(message.channel, message.user_id)
        turn = self._turn(session, message, state, state_ok)
        return TurnResult(self._replies(turn), self._writes(message, state))

    def handle_offline(self, message: InboundMessage, *, state_raw: bytes | str | None,
                       agent_owns: bool) -> OfflineTurn:
        """Answer a message that needs no database, from what the caller read from Redis.

        ``state_raw`` is the stored state (:meth:`state_key`) and ``agent_owns`` the Redis mirror of
        :func:`agent_owns_conversation`. Returns the replies and the turn row for the caller to insert
        with its own rows. Raises :class:`NeedsDatabase` as soon as the turn reaches for the
        database; nothing has changed anywhere then, and the caller runs it with :meth:`handle_in`.
        """
        state = self.store.parse(state_raw)
        turn = self._run(cast(Session, _NoSession()), message, state, agent_owns=agent_owns)
        return OfflineTurn(TurnResult(self._replies(turn), self._writes(message, state)),
                           turn_row(**self._turn_values(turn, state_ok=True)))

    def state_key(self, message: InboundMessage) -> str:
        """The Redis key of this customer's dialogue state."""
        return self.store.key(message.channel, message.user_id)

    def _writes(self, message: InboundMessage, state: State) -> tuple[StateWrite, ...]:
        if message.event == "unsubscribe":
            return ()
        return (self.store.write(message.channel, message.user_id, state),)

    def _handle(self, message: InboundMessage) -> list[BotReply]:
        state, state_ok = self.store.load(message.channel, message.user_id)
        with session_scope(self.runtime.sessions) as session:
            previous = find_turn(session, channel=message.channel, user_id=message.user_id,
                                 msg_key=message.msg_key)
            if previous is not None:  # a redelivery: same answer, nothing done twice
                return [BotReply(text=previous.reply_text)] if previous.reply_text else []
            turn = self._turn(session, message, state, state_ok)
        if message.event != "unsubscribe":
            self.store.save(message.channel, message.user_id, state)
        return self._replies(turn)

    def _turn(self, session: Session, message: InboundMessage, state: State, state_ok: bool) -> Turn:
        """Run the turn and log it in ``session`` (the caller commits, then saves ``state``)."""
        owned = agent_owns_conversation(session, channel=message.channel, user_id=message.user_id)
        turn = self._run(session, message, state, agent_owns=owned)
        insert_turn(session, **self._turn_values(turn, state_ok=state_ok))
        return turn

    def _run(self, session: Session, message: InboundMessage, state: State, *, agent_owns: bool) -> Turn:
        turn = Turn(engine=self, session=session, message=message, state=state,
                    now=message.created_at or utcnow(), product=self.runtime.catalog.get())
        if not agent_owns:
            self._dispatch(turn)  # otherwise a person owns the conversation: the bot stays quiet
        return turn

    @staticmethod
    def _turn_values(turn: Turn, *, state_ok: bool) -> dict[str, Any]:
        """The turn log's values (masked by the conversations service)."""
        message, frame = turn.message, turn.state.frame
        return {
            "channel": message.channel, "user_id": message.user_id, "msg_key": message.msg_key,
            "kind": message.kind if message.kind != "event" else f"event:{message.event or ''}"[:16],
            "text": message.text or "", "intent": turn.pred.intent or None,
            "confidence": turn.pred.confidence if turn.pred.intent else None,
            "slots": {**turn.pred.slots, **turn.log_slots},
            "flow": frame.flow if frame else None, "step": frame.step if frame else None,
            "reply_text": "\n\n".join(turn.replies), "private_values": turn.private_values,
            "degraded": not state_ok, "at": turn.now,
        }

    def _replies(self, turn: Turn) -> list[BotReply]:
        emergency = self.copy.t("emergency")
        first = [BotReply(text=emergency)] if turn.replies[:1] == [emergency] else []
        rest = turn.replies[len(first):]
        return first + ([BotReply(text="\n\n".join(rest))] if rest else [])

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, turn: Turn) -> None:
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
        turn.pred = self.nlu.predict(text[:500], now=turn.now)
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
        intent = turn.pred.intent
        if intent in ONE_SHOT:
            self._answer_one_shot(turn, intent)
            turn.say("resume")
            FLOWS[frame.flow].ask(turn, frame)
            return
        turn.state.suspended = frame
        turn.state.frame = None
        self._start_intent(turn, intent)

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

    def _answer_one_shot(self, turn: Turn, intent: str) -> None:
        if intent == "product_question":
            faq.answer(turn, follow_up=turn.state.frame is None)
        elif intent == "claim_materials":
            materials.answer_question(turn)
        elif intent == "contact_info":
            contact.answer(turn)

    def _general_question(self, turn: Turn, intent: str) -> bool:
        """Answer a general question about a service from the FAQ, offering the flow as choice 1."""
        topic = getattr(turn.pred, "faq_topic", None)
        state = turn.state
        if self.copy.table("general_topics").get(topic) != intent or state.frame or state.suspended:
            return False
        slots = getattr(turn.pred, "slots", None) or {}
        if "claim_no" in slots or "id_number" in slots or self.copy.contains_any("personal_words", turn.text):
            return False
        faq.answer_topic(turn, str(topic), follow_up=False)
        turn.state.choice = {"kind": "intent", "options": [intent]}
        turn.say("general_then_flow", label=self.copy.table("intent_labels")[intent])
        return True

    def _start_intent(self, turn: Turn, intent: str) -> None:
        state = turn.state
        if self._general_question(turn, intent):
            return
        if intent in ONE_SHOT:
            self._answer_one_shot(turn, intent)
        elif intent == "human_agent":
            handoff.hand_off(turn, "asked")
        elif intent == "complaint":
            state.complaints += 1
            self.start_flow(turn, "complaint")
        elif intent in FLOWS:
            self.start_flow(turn, intent)
        elif intent == "goodbye":
            turn.say("goodbye")
        elif intent == "out_of_scope":
            turn.say("out_of_scope", product=turn.product.short_name)
            turn.say("menu")
        else:  # greeting, affirm, deny outside a flow
            turn.say("hello")
            turn.say("menu")

    def start_flow(self, turn: Turn, name: str) -> None:
        """Start flow ``name`` (a flow under way with the same name starts over)."""
        frame = FlowFrame(flow=name)
        turn.state.frame = frame
        FLOWS[name].start(turn, frame)


def build_engine(runtime: Runtime, *, nlu: Any = None) -> DialogueEngine:
    """The engine for ``runtime.turn_handler`` (loads the NLU unless one is given)."""
    if nlu is None:
        nlu = runtime.nlu
    if nlu is None:
        from intents import NLU

        nlu = NLU.load()
        runtime.nlu = nlu
    return DialogueEngine(runtime, nlu=nlu)


__all__ = ["DialogueEngine", "State", "build_engine"]
