"""Fixed-window rate limits in Redis (catalogue M-09), per user, per IP or per anything.

When Redis does not answer, a limit either lets the request through (``fail_open``: read-only
product pages and the FAQ) or refuses it with 503 (login, uploads, writes, identity checks: an
attacker must not get unlimited tries because Redis is down; catalogue F-R2). A refusal over the
limit is :class:`RateLimited` (429 with ``Retry-After``).
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


def hit(client: redis.Redis, limit: Limit, subject: str, *, now: float | None = None) -> None:
    """Count one request of ``subject`` against ``limit``; RateLimited when over it."""
    now = time.time() if now is None else now
    window = int(now // limit.window_s)
    key = f"rl:{limit.name}:{subject}:{window}"
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, limit.window_s + 1)
        count = int(pipe.execute()[0])
    except (redis.RedisError, OSError) as exc:
        if limit.fail_open:
            log.warning("rate limiter unavailable (%s): %s let through", type(exc).__name__, limit.name)
            return
        log.warning("rate limiter unavailable (%s): %s refused", type(exc).__name__, limit.name)
        raise LimiterUnavailable() from None
    if count > limit.count:
        retry = max(1, int((window + 1) * limit.window_s - now) + 1)
        raise RateLimited(retry)
