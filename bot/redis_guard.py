"""A small circuit breaker for the hot-path Redis calls (catalogue F-R1).

After a Redis error the webhook skips Redis for ``open_s`` seconds and falls back to the database,
so a dead or black-holed Redis costs one short timeout, not one per message.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.exceptions import NoScriptError

log = logging.getLogger(__name__)
T = TypeVar("T")
REDIS_ERRORS = (redis.RedisError, OSError)


class RedisUnavailable(Exception):
    """Redis is down or the circuit is open."""


class CircuitOpen(RedisUnavailable):
    """Redis failed a moment ago: not even tried (the failure was logged when the circuit opened)."""


class RedisGuard:
    """Runs Redis calls, opening a circuit on failure."""

    def __init__(self, client: redis.Redis, *, open_s: float = 5.0) -> None:
        self.client = client
        self.open_s = open_s
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        """False while the circuit is open."""
        return time.monotonic() >= self._open_until

    def call(self, fn: Callable[[redis.Redis], T]) -> T:
        """``fn(client)``, or RedisUnavailable when Redis fails or the circuit is open."""
        if not self.available:
            raise CircuitOpen("circuit open")
        try:
            return fn(self.client)
        except REDIS_ERRORS as exc:
            self.trip(exc)
            raise RedisUnavailable(type(exc).__name__) from None

    def reset(self) -> None:
        """Close the circuit now (Redis is known to be back)."""
        with self._lock:
            self._open_until = 0.0

    def trip(self, exc: BaseException) -> None:
        """Open the circuit after ``exc`` (logged once per opening)."""
        with self._lock:
            if self.available:
                log.warning("redis unavailable (%s): degraded mode for %ss", type(exc).__name__, self.open_s)
            self._open_until = time.monotonic() + self.open_s


class BatchScript:
    """A Lua script run for many key sets in one pipeline (EVALSHA, loaded again after NOSCRIPT).

    redis-py's own pipelined scripts ask ``SCRIPT EXISTS`` on every execute: one round trip more.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts so

    def run(self, client: redis.Redis, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        """The script's result for each (keys, args), in order (blocking client)."""
        return self.run_many(client, [(self, keys, args) for keys, args in calls])

    @staticmethod
    def run_many(client: redis.Redis, calls: list[tuple[BatchScript, list[str], list[Any]]]) -> list[Any]:
        """Calls of several scripts in one pipeline, in order (blocking client)."""
        def send(todo: list[tuple[BatchScript, list[str], list[Any]]]) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            for script, keys, args in todo:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            return list(pipe.execute(raise_on_error=False))

        results = send(calls)
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if missing:
            for script in {calls[i][0] for i in missing}:
                client.script_load(script.source)
            for i, r in zip(missing, send([calls[i] for i in missing]), strict=True):
                results[i] = r
        return BatchScript._checked(results)

    @staticmethod
    def _checked(results: list[Any]) -> list[Any]:
        for r in results:
            if isinstance(r, Exception):
                raise r
        return results
