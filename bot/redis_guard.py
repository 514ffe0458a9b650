"""A small circuit breaker for the hot-path Redis calls (catalogue F-R1).

After a Redis error the webhook skips Redis for ``open_s`` seconds and falls back to the database,
so a dead or black-holed Redis costs one short timeout, not one per message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis

log = logging.getLogger(__name__)
T = TypeVar("T")
REDIS_ERRORS = (redis.RedisError, OSError)


class RedisUnavailable(Exception):
    """Redis is down or the circuit is open."""


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
            raise RedisUnavailable("circuit open")
        try:
            return fn(self.client)
        except REDIS_ERRORS as exc:
            with self._lock:
                if self.available:
                    log.warning("redis unavailable (%s): degraded mode for %ss", type(exc).__name__,
                                self.open_s)
                self._open_until = time.monotonic() + self.open_s
            raise RedisUnavailable(type(exc).__name__) from None
