"""Fixed-window counters in Redis, shared by every process: per staff member (bulk reveal) and per
source address (login attempts). The key holds a digest of who is counted, never the value itself (D-07).

One round trip: ``SET key 0 EX window NX`` starts a window, ``INCR`` counts, ``TTL`` says how long is
left; in a MULTI, so a window always expires. When Redis cannot answer, :class:`ThrottleUnavailable`
is raised and the caller decides: fail closed (reveal) or fall back (login).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import redis


class ThrottleUnavailable(Exception):
    """The counter store (Redis) did not answer."""


@dataclass(frozen=True)
class Window:
    """At most ``limit`` events per ``seconds``."""

    limit: int
    seconds: int


@dataclass(frozen=True)
class Count:
    """The events counted in the current window (this one included) and the seconds it has left."""

    count: int
    retry_after_s: int
    limit: int

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    @property
    def first_refusal(self) -> bool:
        """True for the first event over the limit in a window (alert once, not on every attempt)."""
        return self.count == self.limit + 1


def throttle_key(kind: str, who: str) -> str:
    """``throttle:<kind>:<digest of who>``."""
    return f"throttle:{kind}:{hashlib.sha256(who.encode()).hexdigest()[:24]}"


def count_event(client: redis.Redis, *, kind: str, who: str, window: Window) -> Count:
    """Count one event of ``who``; :class:`ThrottleUnavailable` when Redis does not answer."""
    key = throttle_key(kind, who)
    try:
        pipe = client.pipeline(transaction=True)
        pipe.set(key, 0, ex=window.seconds, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = pipe.execute()
    except redis.RedisError as exc:
        raise ThrottleUnavailable(type(exc).__name__) from exc
    return Count(count=int(count), retry_after_s=max(1, int(ttl)), limit=window.limit)


def release(client: redis.Redis, *, key: str) -> None:
    """Give back one counted event (never below zero; the window's expiry is kept)."""
    try:
        client.eval(_RELEASE, 1, key)
    except redis.RedisError as exc:
        raise ThrottleUnavailable(type(exc).__name__) from exc


_RELEASE = ("local n = tonumber(redis.call('GET', KEYS[1]) or '0') "
            "if n > 0 then redis.call('DECR', KEYS[1]) end")
