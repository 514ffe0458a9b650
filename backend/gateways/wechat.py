"""The outbound WeChat Official Account API: the one module of backend/ that imports wechatpy.

* The access token is shared by every process through Redis; a lock lets one process refresh it
  (wechatpy's ``auto_retry`` would refresh in every process and invalidate the others' tokens, so it
  is off). 40001/40014/42001 refresh once and retry once.
* 45009/45011 (quota) open a circuit for a while; 45015/43101 (window closed, refused) and 45047
  (reply count) are recorded per user and never retried; -1 (busy) backs off with jitter, 3 tries.
* Every call has a timeout; timeouts, DNS failures and garbled answers are a :class:`WechatApiError`.
"""

from __future__ import annotations

import contextlib
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from backend.gateways.exceptions import (
    WechatApiError,
    WechatMediaExpired,
    WechatQuotaExceeded,
    WechatUnreachable,
)
from backend.gateways.wechat_http import JsonPoster, WeChatApiAnswer

log = logging.getLogger(__name__)

# The errors too: bot/ imports them from here.
__all__ = ["WechatApiError", "WechatGateway", "WechatMediaExpired", "WechatQuotaExceeded",
           "WechatUnreachable"]

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
NOT_FOLLOWING = 43004  # template messages: the user does not follow the account (reach them by SMS)
QUOTA_ERRORS = {45009: 3600.0, 45011: 60.0}  # errcode → seconds the circuit stays open
UNREACHABLE_ERRORS = frozenset({45015, 43101, 45047, NOT_FOLLOWING})
BUSY = -1
MEDIA_EXPIRED = 40007
REDIS_ERRORS = (redis.RedisError, OSError)


class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's client with our base URL, no auto-retry, and the token from the gateway."""

    def __init__(self, gateway: WechatGateway, *, timeout: float) -> None:
        super().__init__(gateway.app_id, gateway.app_secret, timeout=timeout, auto_retry=False)
        self._gateway = gateway
        self.API_BASE_URL = gateway.api_base_url + "/cgi-bin/"

    @property
    def access_token(self) -> str:
        return self._gateway.access_token()

    def fetch_access_token(self) -> dict[str, Any]:
        self._gateway.refresh_token(stale=None)
        return {}


class WechatGateway:
    """Customer-service, template, menu and media calls with a shared token and a failure policy."""

    def __init__(
        self, *, app_id: str, app_secret: str, redis_client: redis.Redis | None,
        api_base_url: str = "https://api.weixin.qq.com", timeout_s: float = 3.0,
        sleep: Callable[[float], None] = time.sleep, lock_wait_s: float = 3.0, state_ttl_s: float = 0.0,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.api_base_url = api_base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.redis = redis_client
        self._sleep = sleep
        self._lock_wait_s = lock_wait_s
        self._memory_token: tuple[str, float] | None = None  # fallback when Redis is down
        self._memory_circuit: tuple[int, float] | None = None
        self._redis_down_until = 0.0
        # The circuit and token read from Redis, kept ``state_ttl_s`` seconds (0: read for every call)
        # and forgotten when this process refreshes the token or opens the circuit.
        self.state_ttl_s = state_ttl_s
        self._state: tuple[int | None, str, float] | None = None
        self._local_lock = threading.Lock()
        self.client = _Client(self, timeout=timeout_s)
        self.poster = JsonPoster(timeout_s=timeout_s)  # template and subscribe messages (hot calls)
        self.token_key = f"wx:token:{app_id}"
        self.lock_key = f"wx:token-lock:{app_id}"
        self.circuit_key = f"wx:circuit:{app_id}"

    # -- Redis, with a small circuit so a dead Redis costs one timeout, not one per call -----------
    def _redis(self) -> redis.Redis | None:
        if self.redis is None or time.monotonic() < self._redis_down_until:
            return None
        return self.redis

    def _redis_failed(self) -> None:
        log.warning("redis unavailable for the WeChat gateway; using the process copy for 5 s")
        self._redis_down_until = time.monotonic() + 5.0

    # -- access token -------------------------------------------------------------------------
    def _cached_token(self) -> str | None:
        client = self._redis()
        if client is not None:
            try:
                value = client.get(self.token_key)
                if value:
                    return value.decode() if isinstance(value, bytes) else str(value)
            except REDIS_ERRORS:
                self._redis_failed()
        if self._memory_token and self._memory_token[1] > time.time():
            return self._memory_token[0]
        return None

    def access_token(self) -> str:
        """The shared access token, fetched once for all processes when there is none."""
        return self._cached_token() or self.refresh_token(stale=None)

    def refresh_token(self, *, stale: str | None) -> str:
        """A new token, fetched by one process under a Redis lock; the others wait and reuse it."""
        self._state = None
        owner = secrets.token_hex(8)
        deadline = time.monotonic() + self._lock_wait_s
        with self._local_lock:
            while True:
                current = self._cached_token()
                if current and current != stale:
                    return current
                got = True
                client = self._redis()
                if client is not None:
                    try:
                        got = bool(client.set(self.lock_key, owner, nx=True, px=10_000))
                    except REDIS_ERRORS:
                        self._redis_failed()  # no Redis: this process refreshes for itself
                if got:
                    try:
                        # Another process may have refreshed between our read and our lock.
                        latest = self._cached_token() if client is not None else None
                        if latest and latest != stale and latest != current:
                            return latest
                        return self._fetch_token(force=stale is not None)
                    finally:
                        self._release_lock(owner)
                if time.monotonic() > deadline:
                    raise WechatApiError(None, "token refresh lock timed out")
                self._sleep(0.05)

    def _release_lock(self, owner: str) -> None:
        client = self._redis()
        if client is None:
            return
        with contextlib.suppress(*REDIS_ERRORS):
            client.eval(
                "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end "
                "return 0", 1, self.lock_key, owner,
            )

    def _fetch_token(self, *, force: bool) -> str:
        body = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret,
                "force_refresh": force}
        try:
            res = self.client._http.post(f"{self.api_base_url}/cgi-bin/stable_token", json=body,
                                         timeout=self.timeout_s)
            data = res.json()
        except ValueError:  # requests' JSONDecodeError is also a RequestException: test it first
            raise WechatApiError(None, "token answer is not JSON") from None
        except requests.RequestException as exc:
            raise WechatApiError(None, f"token request failed: {type(exc).__name__}") from None
        if not isinstance(data, dict) or not data.get("access_token"):
            code = data.get("errcode") if isinstance(data, dict) else None
            raise WechatApiError(int(code) if code is not None else None, "token refused")
        token = str(data["access_token"])
        ttl = max(60, int(data.get("expires_in", 7200)) - 300)
        self._memory_token = (token, time.time() + ttl)
        client = self._redis()
        if client is not None:
            try:
                client.set(self.token_key, token, ex=ttl)
            except REDIS_ERRORS:
                self._redis_failed()
        log.info("wechat access token refreshed")
        return token

    # -- circuit and per-user records -----------------------------------------------------------
    def circuit_open(self) -> int | None:
        """The errcode that opened the quota circuit, or None when calls may go out."""
        client = self._redis()
        if client is not None:
            try:
                value = client.get(self.circuit_key)
                return int(value) if value else None
            except REDIS_ERRORS:
                self._redis_failed()
        if self._memory_circuit and self._memory_circuit[1] > time.time():
            return self._memory_circuit[0]
        return None

    def _open_circuit(self, errcode: int) -> None:
        seconds = QUOTA_ERRORS[errcode]
        self._state = None
        self._memory_circuit = (errcode, time.time() + seconds)
        log.error("wechat quota exhausted (errcode %s): outbound calls paused for %ss", errcode, seconds)
        client = self._redis()
        if client is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                client.set(self.circuit_key, errcode, ex=int(seconds))

    def unreachable_code(self, openid: str) -> int | None:
        """The errcode recorded when WeChat last refused a message to this user (None if none)."""
        client = self._redis()
        if client is None:
            return None
        try:
            value = client.get(f"wx:unreachable:{openid}")
        except REDIS_ERRORS:
            return None
        return int(value) if value else None

    def _record_unreachable(self, openid: str | None, errcode: int) -> None:
        log.info("wechat will not deliver to a user now (errcode %s)", errcode)
        client = self._redis()
        if openid and client is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                client.set(f"wx:unreachable:{openid}", errcode, ex=7 * 86400)

    # -- the call policy ---------------------------------------------------------------------------
    def _circuit_and_token(self) -> tuple[int | None, str | None]:
        """:meth:`circuit_open` and the cached token (:meth:`_cached_token`) in one Redis round trip, or
        none while the last read is younger than ``state_ttl_s`` (a worker sending many messages reads
        them a few times a second, not once per message; another process's refresh leaves the old token
        valid for minutes, and a 40001 refreshes at once)."""
        state = self._state
        if state is not None and state[2] > time.monotonic():
            return state[0], state[1]
        code, token = self._read_circuit_and_token()
        if self.state_ttl_s > 0 and token:
            self._state = (code, token, time.monotonic() + self.state_ttl_s)
        return code, token

    def _read_circuit_and_token(self) -> tuple[int | None, str | None]:
        client = self._redis()
        if client is not None:
            try:
                circuit, token = client.mget(self.circuit_key, self.token_key)
            except REDIS_ERRORS:
                self._redis_failed()
            else:
                if token:
                    return (int(circuit) if circuit else None,
                            token.decode() if isinstance(token, bytes) else str(token))
                return int(circuit) if circuit else None, self._cached_token()
        return self.circuit_open(), self._cached_token()

    def _call(self, fn: Callable[[str], Any], *, openid: str | None = None) -> Any:
        """``fn(access_token)`` under the policy of the module doc."""
        code, token = self._circuit_and_token()
        if code is not None:
            raise WechatQuotaExceeded(code, "quota circuit open")
        refreshed = False
        busy_tries = 0
        while True:
            token = token or self.refresh_token(stale=None)
            try:
                result = fn(token)
            except WeChatApiAnswer as exc:
                errcode = exc.errcode
            except WeChatClientException as exc:
                errcode = exc.errcode
                if errcode is None:
                    status = getattr(exc.response, "status_code", None)
                    raise WechatApiError(None, f"http error {status}") from None
                errcode = int(errcode)
            except requests.Timeout:
                raise WechatApiError(None, "timeout") from None
            except requests.RequestException as exc:
                raise WechatApiError(None, f"network error: {type(exc).__name__}") from None
            except ValueError:
                raise WechatApiError(None, "garbled answer") from None
            else:
                if isinstance(result, (dict, requests.Response)):
                    return result
                raise WechatApiError(None, "garbled answer")
            if errcode in TOKEN_ERRORS and not refreshed:
                refreshed = True
                token = self.refresh_token(stale=token)
                continue
            if errcode in QUOTA_ERRORS:
                self._open_circuit(errcode)
                raise WechatQuotaExceeded(errcode, "quota exhausted")
            if errcode in UNREACHABLE_ERRORS:
                self._record_unreachable(openid, errcode)
                raise WechatUnreachable(errcode, "user cannot be reached through WeChat now")
            if errcode == MEDIA_EXPIRED:
                raise WechatMediaExpired(errcode, "media expired")
            if errcode == BUSY and busy_tries < 2:
                busy_tries += 1
                self._sleep(0.2 * 2 ** busy_tries * (0.5 + random.random()))
                token = self.access_token()
                continue
            if errcode == 48001:
                log.error("wechat api: no permission (48001): check the account's configuration")
            raise WechatApiError(errcode, "call refused")

    def _json_call(self, fn: Callable[[str], Any], *, openid: str | None = None) -> dict[str, Any]:
        result = self._call(fn, openid=openid)
        if not isinstance(result, dict):
            raise WechatApiError(None, "garbled answer")
        return result

    # -- the API -------------------------------------------------------------------------------------
    def send_text(self, openid: str, text: str) -> None:
        """A customer-service text message."""
        self._json_call(lambda _t: self.client.message.send_text(openid, text), openid=openid)

    def send_image(self, openid: str, media_id: str) -> None:
        """A customer-service picture message."""
        self._json_call(lambda _t: self.client.message.send_image(openid, media_id), openid=openid)

    def upload_image(self, data: bytes, *, filename: str, content_type: str) -> str:
        """Upload a picture as temporary media (``media/upload?type=image``, multipart field ``media``;
        WeChat keeps it 3 days); returns its ``media_id`` for :meth:`send_image`. A file WeChat does
        not take as an image is 40005, raised as :class:`WechatApiError`."""
        result = self._json_call(
            lambda _t: self.client.media.upload("image", (filename, data, content_type)))
        media_id = result.get("media_id")
        if not media_id:
            raise WechatApiError(None, "media upload answer without media_id")
        return str(media_id)

    def send_news(self, openid: str, articles: list[dict[str, str]]) -> None:
        """A customer-service news message: dicts with title, description, url, image (picurl)."""
        items = [{"title": a.get("title", ""), "description": a.get("description", ""),
                  "url": a.get("url", ""), "image": a.get("image", a.get("picurl", ""))}
                 for a in articles]
        self._json_call(lambda _t: self.client.message.send_articles(openid, items), openid=openid)

    def send_template(self, openid: str, template_id: str, data: dict[str, Any], url: str | None = None,
                      miniprogram: dict[str, str] | None = None, client_msg_id: str | None = None) -> str:
        """A template message; returns WeChat's msgid (matched later with TEMPLATESENDJOBFINISH).

        ``client_msg_id``: WeChat sends one message per openid and id within 10 minutes, so a retry
        with the same id after an unknown outcome cannot send it twice (wechatpy does not pass it)."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        if miniprogram:
            body["miniprogram"] = miniprogram
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        url = f"{self.api_base_url}/cgi-bin/message/template/send"
        result = self._json_call(lambda token: self.poster.post(url, body, access_token=token), openid=openid)
        if "msgid" not in result:
            raise WechatApiError(None, "template answer without msgid")
        return str(result["msgid"])

    def send_subscribe(self, openid: str, template_id: str, data: dict[str, Any], page: str | None = None,
                       state: str = "formal") -> None:
        """A mini-program subscribe message (one per acceptance; 43101 when none is left)."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data,
                                "miniprogram_state": state, "lang": "zh_CN"}
        if page:
            body["page"] = page
        url = f"{self.api_base_url}/cgi-bin/message/subscribe/send"
        self._json_call(lambda token: self.poster.post(url, body, access_token=token), openid=openid)

    def post_json(self, path: str, body: dict[str, Any], *, openid: str | None = None) -> dict[str, Any]:
        """Any JSON API under the base URL (e.g. ``wxa/business/getuserphonenumber``), same policy."""
        url = f"{self.api_base_url}/{path.lstrip('/')}"
        return self._json_call(lambda _t: self.client.post(url, data=body), openid=openid)

    def create_menu(self, menu: dict[str, Any]) -> None:
        """Replace the account's custom menu."""
        self._json_call(lambda _t: self.client.menu.create(menu))

    def download_media(self, media_id: str) -> bytes:
        """The bytes of a temporary media file (user images expire after 3 days: 40007)."""
        result = self._call(lambda _t: self.client.media.download(media_id))
        if isinstance(result, requests.Response):
            return bytes(result.content)
        raise WechatApiError(None, "media answer is not a file")
