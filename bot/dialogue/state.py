"""Per-customer conversation state in Redis (JSON, with a TTL).

Private values (ID numbers, phones, names) never reach Redis in clear (catalogue D-07): they are kept
in ``secret`` encrypted with the field cipher. When Redis is down the engine works from a fresh
state and says so in the turn log (``degraded``); it never fails the turn.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import redis

from backend.security.crypto import CryptoError, FieldCipher
from bot import inbox_protocol
from bot.contract import StateWrite
from bot.redis_guard import REDIS_ERRORS, CircuitOpen, RedisGuard, RedisUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

PURPOSE_STATE = "dialogue.state"
_VERSION = 1


@dataclass
class FlowFrame:
    """One flow under way: its name, the question pending, its slots."""

    flow: str
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    secret: dict[str, str] = field(default_factory=dict)  # encrypted values
    conv_id: str = field(default_factory=lambda: secrets.token_hex(8))


@dataclass
class State:
    """Everything the bot remembers about one customer between messages."""

    frame: FlowFrame | None = None
    suspended: FlowFrame | None = None
    # A numbered question awaiting a digit: {"kind": ..., "options": [...]}.
    choice: dict[str, Any] | None = None
    misses: int = 0
    complaints: int = 0
    # The latest claim reported or looked up in this conversation: {"id", "case_no", "claim_type"}.
    claim: dict[str, Any] | None = None
    # Images awaiting a "which material is this" answer (media ids are not private).
    pending_media: list[dict[str, str]] = field(default_factory=list)
    # What the customer told so far in this conversation (bot/dialogue/memory.py): the facts a flow
    # starts from, so nothing said once is asked again. Private values go to ``secret``, encrypted.
    notes: dict[str, Any] = field(default_factory=dict)
    secret: dict[str, str] = field(default_factory=dict)
    # The previous turn, for reading follow-ups (intent, FAQ topic) and not repeating a long answer.
    last: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The Redis value (the same as ``asdict``, without its deep copy: this runs every turn)."""
        values: dict[str, Any] = {"v": _VERSION}
        for name in _STATE_FIELDS:
            value = getattr(self, name)
            if isinstance(value, FlowFrame):
                value = {n: getattr(value, n) for n in _FRAME_FIELDS}
            values[name] = value
        return json.dumps(values, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> State:
        """Parse a Redis value (a bad or old value gives a fresh state)."""
        data = json.loads(raw)
        if data.pop("v", None) != _VERSION:
            return cls()
        for key in ("frame", "suspended"):
            if data.get(key) is not None:
                data[key] = FlowFrame(**data[key])
        return cls(**data)


_STATE_FIELDS = tuple(f.name for f in fields(State))
_FRAME_FIELDS = tuple(f.name for f in fields(FlowFrame))


class SecretBox:
    """Encrypts private values kept in the state (in a flow's frame, or in the state's notes)."""

    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    def put(self, frame: FlowFrame | State, key: str, value: str) -> None:
        """Keep ``value`` encrypted in the frame."""
        frame.secret[key] = self._cipher.encrypt(value, purpose=f"{PURPOSE_STATE}.{key}")

    def get(self, frame: FlowFrame | State, key: str) -> str | None:
        """The clear value, or None (also when it cannot be decrypted)."""
        token = frame.secret.get(key)
        if token is None:
            return None
        try:
            return self._cipher.decrypt(token, purpose=f"{PURPOSE_STATE}.{key}")
        except CryptoError:
            frame.secret.pop(key, None)
            return None


class StateStore:
    """Load and save states in Redis; any Redis failure degrades to a fresh, unsaved state."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: int, prefix: str = inbox_protocol.STATE_PREFIX,
                 guard: Callable[[], RedisGuard | None] = lambda: None) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._prefix = prefix
        # The webhook's circuit breaker, when there is one: while it is open (Redis just failed),
        # the state is not even asked for, so a dead Redis costs one timeout, not one per turn.
        self._guard = guard

    def key(self, channel: str, user_id: str) -> str:
        """The Redis key of a conversation (the openid is hashed, not stored)."""
        return inbox_protocol.state_key(channel, user_id, self._prefix)

    def load(self, channel: str, user_id: str) -> tuple[State, bool]:
        """The state and ``ok`` (False when Redis failed and the state is fresh)."""
        key = self.key(channel, user_id)
        try:
            raw = self._call(lambda r: r.get(key))
        except RedisUnavailable as exc:
            if not isinstance(exc, CircuitOpen):
                log.warning("dialogue state unavailable: %s", exc)
            return State(), False
        return self.parse(raw), True

    def call(self, fn: Callable[[redis.Redis], T]) -> T:
        """``fn(client)`` through the breaker (RedisUnavailable when Redis fails)."""
        return self._call(fn)

    def _call(self, fn: Callable[[redis.Redis], T]) -> T:
        """``fn(client)`` through the webhook's circuit breaker when there is one; RedisUnavailable
        when Redis fails (or failed a moment ago)."""
        guard = self._guard()
        if guard is not None:
            return guard.call(fn)
        try:
            return fn(self._client)
        except REDIS_ERRORS as exc:
            raise RedisUnavailable(type(exc).__name__) from None

    @staticmethod
    def parse(raw: str | bytes | None) -> State:
        """The state in a Redis value (fresh when there is none or it is unreadable)."""
        if not raw:
            return State()
        try:
            return State.from_json(raw)
        except (ValueError, TypeError, KeyError):
            log.warning("dialogue state unreadable; starting fresh")
            return State()

    def write(self, channel: str, user_id: str, state: State) -> StateWrite:
        """The save of ``state`` as a write for the caller to apply (after its commit)."""
        return StateWrite(self.key(channel, user_id), state.to_json(), self._ttl)

