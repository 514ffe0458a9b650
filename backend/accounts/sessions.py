"""Customer session tokens: opaque, random, kept server-side in Redis with a sliding expiry (M-10).

The token (``secrets.token_urlsafe(32)``) is the only thing the client holds; Redis keeps only its
SHA-256, so a Redis dump gives no usable token. Each use renews the expiry; logout deletes it. The
value names the account and its channel identity, never the session key or anything private.
Redis down → :class:`SessionStoreDown` (503, catalogue F-R2), never a 401 that would log everyone out.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

import redis

from backend.errors import ServiceError, Unauthorized

PREFIX = "mp:sess:"


class SessionStoreDown(ServiceError):
    """Sessions cannot be checked now."""

    status_code = 503

    def __init__(self) -> None:
        super().__init__("service_unavailable", "系统正忙，请稍后再试")
        self.headers = {"Retry-After": "5"}


@dataclass(frozen=True, slots=True)
class CustomerSession:
    """Who a valid token belongs to."""

    account_id: int
    channel: str
    openid: str


def _key(token: str) -> str:
    return PREFIX + hashlib.sha256(token.encode()).hexdigest()


def not_logged_in() -> Unauthorized:
    """The one answer for a missing, wrong, expired or revoked token."""
    return Unauthorized("not_logged_in", "请重新登录")


def open_session(client: redis.Redis, *, account_id: int, channel: str, openid: str, idle_s: int) -> str:
    """A new token for this account."""
    token = secrets.token_urlsafe(32)
    value = json.dumps({"a": account_id, "c": channel, "o": openid})
    try:
        client.set(_key(token), value, ex=idle_s)
    except (redis.RedisError, OSError):
        raise SessionStoreDown() from None
    return token


def check_session(client: redis.Redis, *, token: str | None, idle_s: int) -> CustomerSession:
    """The session of ``token`` (renewed), or Unauthorized."""
    if not token or len(token) > 128:
        raise not_logged_in()
    try:
        value = client.getex(_key(token), ex=idle_s)
    except (redis.RedisError, OSError):
        raise SessionStoreDown() from None
    if not value:
        raise not_logged_in()
    data = json.loads(value)
    return CustomerSession(account_id=int(data["a"]), channel=str(data["c"]), openid=str(data["o"]))


def close_session(client: redis.Redis, *, token: str) -> None:
    """Revoke a token (logout)."""
    try:
        client.delete(_key(token))
    except (redis.RedisError, OSError):
        raise SessionStoreDown() from None
