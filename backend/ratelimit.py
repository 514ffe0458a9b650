"""Fixed-window rate limits in Redis (catalogue M-09), per user, per IP or per anything.

When Redis does not answer, a limit either lets the request through (``fail_open``: read-only
product pages and the FAQ) or refuses it with 503 (login, uploads, writes, identity checks: an
attacker must not get unlimited tries because Redis is down; catalogue F-R2). A refusal over the
limit is :class:`RateLimited` (429 with ``Retry-After``).

:func:`count` counts without refusing, for callers that answer in their own words, alert once per
window (:attr:`Counted.first_over`) or give a slot back with :func:`release` (staff logins: only the
failed ones add up, ``backend.staff.login_guard``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis

from backend.errors import ServiceError

log = logging.getLogger(__name__)


class RateLimited(ServiceError):
    """Over the limit: 429 with Retry-After."""

    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "rate_limited", "操作太频繁了，请稍等一会儿再试", detail={"retry_after": retry_after}
        )
        self.headers = {"Retry-After": str(retry_after)}


class LimiterUnavailable(ServiceError):
    """The limiter cannot count (Redis down) and this limit fails closed: 503."""

    status_code = 503

    def __init__(self) -> None:
        super().__init__("service_unavailable", "系统正忙，请稍后再试")
        self.headers = {"Retry-After": "5"}


@dataclass(frozen=True, slots=True)
class Limit:
    """``count`` requests per ``window_s`` seconds."""

    name: str
    count: int
    window_s: int
    fail_open: bool = False


@dataclass(frozen=True, slots=True)
class Counted:
    """The requests counted in the current window (this one included) and the seconds it has left."""

    count: int
    retry_after: int
    limit: Limit

    @property
    def over(self) -> bool:
        """Over the limit: the request should be refused."""
        return self.count > self.limit.count

    @property
    def first_over(self) -> bool:
        """The first request over the limit in this window (to alert once, not on every attempt)."""
        return self.count == self.limit.count + 1


def key_around(limit: Limit, now: float) -> tuple[str, str, int]:
    """The key of ``limit``'s current window split around its subject (prefix, suffix), and the seconds
    a refusal asks the client to wait (for callers that count inside a Redis script)."""
    window = int(now // limit.window_s)
    return f"rl:{limit.name}:", f":{window}", max(1, int((window + 1) * limit.window_s - now) + 1)


def _key(limit: Limit, subject: str, now: float) -> tuple[str, int]:
    prefix, suffix, retry = key_around(limit, now)
    return prefix + subject + suffix, retry


def count(client: redis.Redis, limit: Limit, subject: str, *, now: float | None = None) -> Counted:
    """Count one request of ``subject`` and say where it stands; refuses nothing itself.

    Redis not answering: a zero count for a ``fail_open`` limit, else :class:`LimiterUnavailable`.
    """
    now = time.time() if now is None else now
    key, retry = _key(limit, subject, now)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, limit.window_s + 1)
        counted = int(pipe.execute()[0])
    except (redis.RedisError, OSError) as exc:
        if limit.fail_open:
            log.warning("rate limiter unavailable (%s): %s let through", type(exc).__name__, limit.name)
            return Counted(0, retry, limit)
        log.warning("rate limiter unavailable (%s): %s refused", type(exc).__name__, limit.name)
        raise LimiterUnavailable() from None
    return Counted(counted, retry, limit)


def hit(client: redis.Redis, limit: Limit, subject: str, *, now: float | None = None) -> None:
    """Count one request of ``subject`` against ``limit``; RateLimited when over it."""
    counted = count(client, limit, subject, now=now)
    if counted.over:
        raise RateLimited(counted.retry_after)


# Decrement, never below zero (a window that rolled over in between starts at zero anyway).
_RELEASE = ("local n = tonumber(redis.call('GET', KEYS[1]) or '0') "
            "if n > 0 then redis.call('DECR', KEYS[1]) end")


def release(client: redis.Redis, limit: Limit, subject: str, *, now: float | None = None) -> None:
    """Give back one counted request of the current window (best effort: Redis errors are ignored)."""
    key, _ = _key(limit, subject, time.time() if now is None else now)
    try:
        client.eval(_RELEASE, 1, key)
    except (redis.RedisError, OSError) as exc:
        log.warning("rate limiter unavailable (%s): %s not released", type(exc).__name__, limit.name)
