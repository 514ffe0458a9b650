"""Conversation helpers: a customer talks to the real engine (real NLU, database and Redis) through the
entry points the webhook uses, and :func:`verify_dialog` checks a conversation written as a table."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from sqlalchemy.orm import Session

from backend.conversations.service import insert_rows
from backend.handoff.service import AGENT_OWNED_KEY, conversation_digest
from backend.privacy.service import consent_config
from backend.roster.idcard import check_digit
from backend.roster.service import import_roster
from backend.runtime import Runtime
from backend.security.masking import mask_id_number, mask_name, mask_phone
from bot.contract import BotReply, InboundMessage, NeedsDatabase, TurnResult
from bot.dialogue.engine import DialogueEngine, build_engine
from bot.dialogue.state import SecretBox, State
from bot.redis_guard import RedisGuard, RedisUnavailable

# Saturday 21 November 2026, 10:00 in Shanghai: "昨天" is the 20th.
NOW = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
# Monday 10:00 in Shantou: people answer (config/handoff.yaml service_hours); NOW is a Saturday.
IN_HOURS = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
_keys = itertools.count(1)


def make_id(birth: str, seq: str = "123") -> str:
    """A valid 潮南区 ID number for a birth date ``YYYYMMDD``."""
    first17 = "440514" + birth + seq
    return first17 + check_digit(first17)


ZHANG_ID = make_id("19500312", "122")  # 张秀英, in the roster
LI_ID = make_id("19480705", "211")  # not in the roster
ZHANG_PHONE = "13812345678"


@pytest.fixture(scope="session")
def nlu() -> Any:
    from intents import NLU

    return NLU.load()


@pytest.fixture
def dialogue(runtime: Runtime, nlu: Any) -> DialogueEngine:
    return build_engine(runtime, nlu=nlu)


@pytest.fixture
def roster(db: Session, runtime: Runtime) -> None:
    """One insured person: 张秀英."""
    csv = ("姓名,身份证号,户籍区县,手机号,地址\n"
           f"张秀英,{ZHANG_ID},潮南区,{ZHANG_PHONE},峡山街道\n").encode()
    product = runtime.catalog.get()
    import_roster(db, cipher=runtime.cipher, product=product, data=csv, file_name="r.csv", actor="test",
                  today=NOW.date())
    db.commit()


class Chat:
    """One customer talking to the engine as the webhook makes it talk.

    Each message is first answered without a database (``handle_offline``, from the state and the
    agent-owned mark read in Redis, as the webhook's claim reads them) and its turn row inserted; a turn
    that needs the database runs in the test's transaction (``handle_in``, what the offline attempt
    read handed over), which is then committed (a savepoint). The state goes to Redis only after the
    commit. Redis calls go through the webhook's circuit breaker, which the engine's state store
    shares; with Redis unreachable, the turn goes straight to ``handle_in``, as in the webhook.
    """

    def __init__(self, engine: DialogueEngine, user: str | None = None,
                 channel: str = "official_account") -> None:
        self.engine = engine
        # A fresh openid per conversation: rows of other tests never match.
        self.user = user or f"o-{uuid.uuid4().hex[:16]}"
        self.channel = channel
        self.now = NOW
        self.last: list[BotReply] = []
        self.offline_turns = 0  # turns answered without a database

    @property
    def redis(self) -> redis.Redis:
        return self.engine.runtime.redis

    @property
    def guard(self) -> RedisGuard:
        """The circuit breaker over the engine's Redis, registered as the webhook's start-up does."""
        runtime = self.engine.runtime
        guard = runtime.redis_guard
        if not isinstance(guard, RedisGuard) or guard.client is not self.redis:
            guard = runtime.redis_guard = RedisGuard(self.redis)
        return guard

    def message(self, kind: str = "text", text: str = "", **fields: Any) -> InboundMessage:
        return InboundMessage(channel=self.channel, user_id=self.user, kind=kind, text=text,
                              msg_key=fields.pop("msg_key", f"m{next(_keys)}"),
                              created_at=self.now, raw_type=kind, **fields)

    def send_message(self, msg: InboundMessage) -> str:
        self.last = self._turn(msg)
        self.now += dt.timedelta(seconds=30)
        return "\n\n".join(r.text for r in self.last)

    def say(self, text: str) -> str:
        return self.send_message(self.message("text", text))

    def send(self, kind: str, **fields: Any) -> str:
        return self.send_message(self.message(kind, **fields))

    def talk(self, *texts: str) -> list[str]:
        return [self.say(t) for t in texts]

    def state_key(self) -> str:
        return self.engine.store.key(self.channel, self.user)

    def state(self) -> State:
        """The dialogue state kept in Redis."""
        return self.engine.store.parse(self.redis.get(self.state_key()))

    def frame_secret(self, key: str) -> str | None:
        """A private value of the flow under way, decrypted."""
        frame = self.state().frame
        assert frame is not None
        return SecretBox(self.engine.runtime.cipher).get(frame, key)

    def frame_data(self, key: str) -> Any:
        """A value the flow under way holds (None when no flow is under way)."""
        frame = self.state().frame
        return None if frame is None else frame.data.get(key)

    def flow(self) -> str | None:
        """The flow under way, if any."""
        frame = self.state().frame
        return None if frame is None else frame.flow

    def forget_state(self) -> None:
        """The state expires (a later conversation)."""
        self.redis.delete(self.state_key())

    def _turn(self, msg: InboundMessage) -> list[BotReply]:
        key, member = self.engine.state_key(msg), conversation_digest(msg.channel, msg.user_id)
        try:
            state_raw, agent_owns = self.guard.call(
                lambda r: (r.get(key), bool(r.sismember(AGENT_OWNED_KEY, member))))
        except RedisUnavailable:
            return self._in_transaction(msg, None)
        try:
            offline = self.engine.handle_offline(msg, state_raw=state_raw, agent_owns=agent_owns)
        except NeedsDatabase as need:
            return self._in_transaction(msg, need.resume)
        with self.engine.runtime.sessions() as session:
            insert_rows(session.connection(), turns=[offline.turn_row] if offline.turn_row else [], inbox=[])
            session.commit()
        self.offline_turns += 1
        return self._committed(offline.result)

    def _in_transaction(self, msg: InboundMessage, resume: object) -> list[BotReply]:
        with self.engine.runtime.sessions() as session:
            result = self.engine.handle_in(msg, session=session, resume=resume)
            session.commit()
        return self._committed(result)

    def _committed(self, result: TurnResult) -> list[BotReply]:
        writes = result.state_writes
        with contextlib.suppress(RedisUnavailable):  # as the webhook: the state is lost, not the answer
            self.guard.call(lambda r: [r.set(w.key, w.value, ex=w.ttl_s) for w in writes])
        for callback in result.after_commit:
            callback()
        return result.replies


@pytest.fixture
def chat(dialogue: DialogueEngine) -> Iterator[Chat]:
    yield Chat(dialogue)


# -- conversations as tables ---------------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    """A text of the copy file (``config/dialogue.yaml``), with its placeholders filled."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)

    def render(self, chat: Chat) -> str:
        return chat.engine.copy.t(self.key, **self.values)


@dataclass(frozen=True)
class Choices:
    """A question of the copy file followed by numbered answers."""

    key: str
    labels: tuple[str, ...]

    def render(self, chat: Chat) -> str:
        return chat.engine.copy.t(self.key) + "\n" + chat.engine.copy.numbered(list(self.labels))


@dataclass(frozen=True)
class Faq:
    """The FAQ answer of a topic, rendered from the product."""

    topic: str

    def render(self, chat: Chat) -> str:
        return chat.engine.faq_text(chat.engine.runtime.catalog.get().id, self.topic)


def text(key: str, **values: Any) -> Text:
    return Text(key, values)


@dataclass(frozen=True)
class Lines:
    """Texts of the copy file on consecutive lines of one reply (as the handoff's wait is told)."""

    texts: tuple[Text, ...]

    def render(self, chat: Chat) -> str:
        return "\n".join(t.render(chat) for t in self.texts)


def queued(key: str = "handoff") -> tuple[Text, Lines]:
    """The reply to a new handoff when nobody is online (the tests' default): no 3-minute promise,
    the honest range of the exceptional standard (5 to 30 minutes), and the offer of a call-back."""
    wait = Lines((text("handoff_wait_first", low=5, high=30), text("handoff_wait_offer")))
    return (text(f"{key}_now"), wait)


@dataclass(frozen=True)
class Sends:
    """A message other than a text: a picture, a location, an event..."""

    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


def sends(kind: str, **fields: Any) -> Sends:
    return Sends(kind, fields)


Part = str | Text | Choices | Faq | Lines
# A whole reply: one part, or several texts of one turn (joined as the engine joins them).
Expected = Part | tuple[Part, ...]


def render(chat: Chat, expected: Expected) -> str:
    parts = expected if isinstance(expected, tuple) else (expected,)
    return "\n\n".join(p if isinstance(p, str) else p.render(chat) for p in parts)


def verify_dialog(chat: Chat, dialog: Sequence[tuple[str | Sends, Expected]]) -> list[str]:
    """Send each message in turn; each whole reply must be the expected one. Returns the replies."""
    replies = []
    for step, (says, expected) in enumerate(dialog, 1):
        reply = chat.say(says) if isinstance(says, str) else chat.send(says.kind, **says.fields)
        want = render(chat, expected)
        assert reply == want, f"step {step}: {says!r}\n  the bot said: {reply!r}\n  expected:     {want!r}"
        replies.append(reply)
    return replies


def consent(category: str) -> Text:
    """The separate-consent question of ``category`` (D-04), from ``config/consent.yaml``."""
    return text("consent_ask", text=consent_config().texts[category].text)


def confirm(*, name: str, relation: str, id_number: str | None, claim_type: str, accident: str, date: str,
            hospital: str, phone: str, who: str = "老人") -> Text:
    """The claim report's confirmation, as the copy file renders it (private values masked)."""
    return text("cr_confirm", who=who, name=mask_name(name), relation=relation,
                id_number=mask_id_number(id_number) if id_number else "以后再给", claim_type=claim_type,
                accident=accident, date=date, hospital=hospital, phone=mask_phone(phone))


def mothers_fall_report(*, name: str = "张秀英", id_number: str = ZHANG_ID,
                        phone: str = ZHANG_PHONE) -> list[tuple[str | Sends, Expected]]:
    """A new customer reports their mother's fall, from the first message to the confirmation."""
    return [
        ("我妈昨天在家摔倒住院了", (text("cr_start"), text("cr_ask_name"))),
        (name, consent("id_number")),
        ("1", text("cr_ask_id")),
        (id_number, text("cr_ask_hospital")),
        ("没有", text("cr_ask_phone")),
        (phone, confirm(name=name, relation="母亲", id_number=id_number, claim_type="住院了", accident="摔倒",
                        date="2026年11月20日", hospital="没有", phone=phone)),
    ]
