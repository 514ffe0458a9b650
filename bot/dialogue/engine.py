"""The dialogue engine: the :class:`~bot.contract.TurnHandler` of the webhook (and of any channel).

Two entry points, both used by the webhook (``docs/wechat.md``): :meth:`DialogueEngine.handle_offline`
answers from the state the caller read in Redis, with no database, and raises NeedsDatabase as soon
as a flow reaches for one; :meth:`DialogueEngine.handle_in` answers in the caller's transaction. The
caller stores the turn (the row built here), commits, and only then writes the returned state, so a
failed turn leaves the conversation as it was. Routing lives in :mod:`bot.dialogue.routing`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.orm import Session

from backend.conversations.service import insert_turn, turn_row
from backend.db import utcnow
from backend.handoff.service import conversation_digest, open_handoff
from backend.handoff.takeover import MISSES_SLOT
from backend.runtime import Runtime
from bot.contract import BotReply, InboundMessage, NeedsDatabase, OfflineTurn, StateWrite, TurnResult
from bot.dialogue import person
from bot.dialogue.context import Prediction, Turn, TurnServices
from bot.dialogue.copy import Copy
from bot.dialogue.desk import HandoffDesk
from bot.dialogue.extract import Extractor
from bot.dialogue.routing import INTERRUPT_INTENTS, Router
from bot.dialogue.state import SecretBox, State, StateStore
from bot.redis_guard import RedisUnavailable

log = logging.getLogger(__name__)


class _NoSession:
    """Stands in for the session of an offline turn: any use raises NeedsDatabase."""

    def __getattr__(self, name: str) -> Any:
        raise NeedsDatabase(name)


_NO_SESSION = _NoSession()


@dataclass(frozen=True, slots=True)
class _Resume:
    """What an offline attempt already read, for the same turn in the caller's transaction."""

    state_raw: bytes | str | None
    reading: Prediction | None  # the NLU's, when the attempt got that far


class DialogueEngine:
    """Answers customer messages; safe to call from the event loop and from worker threads."""

    def __init__(self, runtime: Runtime, *, nlu: Any, copy: Copy | None = None) -> None:
        self.runtime = runtime
        self.nlu = nlu
        self.copy = copy or Copy.load()
        self.store = StateStore(runtime.redis, ttl_seconds=int(self.copy.table("state_ttl_seconds")),
                                guard=lambda: runtime.redis_guard)
        self.services = TurnServices(
            cipher=runtime.cipher, catalog=runtime.catalog, calendar=runtime.calendar, copy=self.copy,
            box=SecretBox(runtime.cipher), faq_text=self.faq_text,
            threshold=float(getattr(nlu, "low_confidence_threshold", 0.5)),
            interrupt_intents=INTERRUPT_INTENTS, extract=Extractor(self.copy.table("extract")),
            lookups=self.lookups, handoff=HandoffDesk(runtime.redis))
        self.router = Router(nlu=nlu, copy=self.copy)
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

    def lookups(self, user_id: str, action: str) -> bool:
        """Failed identity lookups (claim progress) of one user: ``check`` → True while under the
        limit; ``fail`` counts one more → True while still under it (M-09: no name oracle). When
        Redis cannot count, lookups are refused (an attacker gains nothing from a dead Redis)."""
        rule = self.copy.table("lookup_failures")
        window = int(rule["window_hours"]) * 3600
        key = f"dlg:lookup-fail:{conversation_digest('any', user_id)}"
        try:
            if action == "fail":
                count = int(self.store.call(lambda r: _incr_with_ttl(r, key, window)))
            else:
                count = int(self.store.call(lambda r: r.get(key)) or 0)
        except RedisUnavailable:
            return False
        return count < int(rule["max"])

    # ------------------------------------------------------------------ entry points
    def handle_in(self, message: InboundMessage, *, session: Session, resume: object = None) -> TurnResult:
        """Answer one message in the caller's transaction (no commit); raises on failure.

        The caller owns exactly-once (its inbox row commits with this turn), commits, and only then
        applies the returned state write, so a failed transaction leaves the conversation untouched.
        ``resume`` (from :class:`NeedsDatabase`) carries the state and the NLU reading an offline
        attempt already read, so neither is read again.
        """
        reading = None
        if isinstance(resume, _Resume):
            state, state_ok, reading = self.store.parse(resume.state_raw), True, resume.reading
        else:
            state, state_ok = self.store.load(message.channel, message.user_id)
        turn = self._new_turn(session, message, state)
        turn.reading = reading
        row = open_handoff(session, channel=message.channel, user_id=message.user_id)
        if not person.handle(turn, row, self.services.handoff, self.router.read):
            self.router.dispatch(turn)  # otherwise a person has the conversation: the bot stays quiet
        insert_turn(session, **self._turn_values(turn, state_ok=state_ok))
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
        if agent_owns or person.needs_database(state):  # the message is for a person: stored for them
            raise NeedsDatabase("handoff", resume=_Resume(state_raw, None))
        turn = self._new_turn(cast(Session, _NO_SESSION), message, state)
        try:
            self.router.dispatch(turn)
        except NeedsDatabase as need:
            need.resume = _Resume(state_raw, turn.reading)
            raise
        return OfflineTurn(TurnResult(self._replies(turn), self._writes(message, state)),
                           turn_row(**self._turn_values(turn, state_ok=True)))

    def state_key(self, message: InboundMessage) -> str:
        """The Redis key of this customer's dialogue state."""
        return self.store.key(message.channel, message.user_id)

    # ------------------------------------------------------------------ the turn
    def _new_turn(self, session: Session, message: InboundMessage, state: State) -> Turn:
        return Turn(services=self.services, session=session, message=message, state=state,
                    now=message.created_at or utcnow(), product=self.runtime.catalog.get())

    def _writes(self, message: InboundMessage, state: State) -> tuple[StateWrite, ...]:
        if message.event == "unsubscribe":
            return ()
        return (self.store.write(message.channel, message.user_id, state),)

    def _turn_values(self, turn: Turn, *, state_ok: bool) -> dict[str, Any]:
        """The turn log's values (masked and encrypted by the conversations service)."""
        message, frame = turn.message, turn.state.frame
        return {
            "cipher": self.runtime.cipher,
            "channel": message.channel, "user_id": message.user_id, "msg_key": message.msg_key,
            "kind": message.kind if message.kind != "event" else f"event:{message.event or ''}"[:16],
            "text": message.text or "", "intent": turn.pred.intent or None,
            "confidence": turn.pred.confidence if turn.pred.intent else None,
            "slots": {**turn.pred.slots, **turn.log_slots, **_misses(turn.state)},
            "flow": frame.flow if frame else None, "step": frame.step if frame else None,
            "reply_text": "\n\n".join(turn.replies), "private_values": turn.private_values,
            "degraded": not state_ok, "at": turn.now,
        }

    def _replies(self, turn: Turn) -> list[BotReply]:
        emergency = self.copy.t("emergency")
        first = [BotReply(text=emergency)] if turn.replies[:1] == [emergency] else []
        rest = turn.replies[len(first):]
        return first + ([BotReply(text="\n\n".join(rest))] if rest else [])


def _misses(state: State) -> dict[str, int]:
    """The misunderstandings so far, in the turn log for the console's list of live bot chats."""
    return {MISSES_SLOT: state.misses} if state.misses else {}


def _incr_with_ttl(client: Any, key: str, ttl: int) -> int:
    count = int(client.incr(key))
    if count == 1:
        client.expire(key, ttl)
    return count


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
