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
import weakref
from dataclasses import dataclass
from typing import Any, cast

import redis
from redis.commands.core import Script

from backend.errors import ServiceError, Unauthorized
from backend.ratelimit import Counted, Limit, key_around

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


# GETEX (the sliding expiry) and, when the session exists, the INCR and EXPIRE of the rate-limit key of
# its account (ratelimit's key, the account id between KEYS' prefix and suffix): one round trip.
_CHECK_AND_COUNT = """
local value = redis.call('GETEX', KEYS[1], 'EX', ARGV[1])
if not value then return false end
local key = ARGV[2] .. string.format('%d', cjson.decode(value)['a']) .. ARGV[3]
local n = redis.call('INCR', key)
redis.call('EXPIRE', key, ARGV[4])
return {value, n}
"""


_SCRIPTS: weakref.WeakKeyDictionary[redis.Redis, Script] = weakref.WeakKeyDictionary()


def _script(client: redis.Redis) -> Script:
    """The script registered with ``client`` (once per client: it loads itself when Redis lacks it)."""
    script = _SCRIPTS.get(client)
    if script is None:
        script = _SCRIPTS.setdefault(client, client.register_script(_CHECK_AND_COUNT))
    return script


def check_session_counted(
    client: redis.Redis, *, token: str | None, idle_s: int, limit: Limit, now: float
) -> tuple[CustomerSession, Counted]:
    """:func:`check_session`, and the request counted against ``limit`` for the session's account
    (``ratelimit.count``'s key and window) in the same round trip; the caller refuses when it is over.
    Redis down → SessionStoreDown, as for the session alone."""
    if not token or len(token) > 128:
        raise not_logged_in()
    prefix, suffix, retry = key_around(limit, now)
    try:
        got = cast(
            "list[Any] | None",
            _script(client)(keys=[_key(token)], args=[idle_s, prefix, suffix, limit.window_s + 1]),
        )
    except (redis.RedisError, OSError):
        raise SessionStoreDown() from None
    if not got:
        raise not_logged_in()
    data = json.loads(got[0])
    sess = CustomerSession(account_id=int(data["a"]), channel=str(data["c"]), openid=str(data["o"]))
    return sess, Counted(int(got[1]), retry, limit)


def close_session(client: redis.Redis, *, token: str) -> None:
    """Revoke a token (logout)."""
    try:
        client.delete(_key(token))
    except (redis.RedisError, OSError):
        raise SessionStoreDown() from None
