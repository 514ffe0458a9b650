"""A pooled keep-alive JSON poster for the WeChat API's hot calls (template and subscribe messages).

wechatpy goes through ``requests`` (a ``Session`` whose pool keeps 10 connections: with more threads
than that, each extra call opens a new TCP connection) and its ``access_token`` property reads the
shared token again on every call. Here the standard library's ``http.client`` does the protocol
(its ``HTTPConnection``/``HTTPSConnection``: status line, headers, Content-Length, chunked and
close-delimited answers, TLS with the certificate and host name checked); this module only keeps the
connections: up to ``maxsize`` idle ones per host, one used by one thread at a time, a kept one the
server has closed meanwhile replaced before use (as urllib3's pool does), one whose answer said it
closes dropped. Measured from 16 threads against the fake WeChat API in another process, urllib3's
pool cost the caller 550-570 µs of CPU per call, this 310-360 µs (the HTTP call is most of a worker's
CPU per notice in ``tests/bench/bench_notices_send.py``). The answer is read the way wechatpy reads
it: a non-zero ``errcode`` is a :class:`WeChatApiAnswer`, any transport failure a
:class:`WechatApiError` ("timeout", "network error: <exception>", "http error <status>", "garbled
answer").
"""

from __future__ import annotations

import http.client
import json
import select
import ssl
import threading
import weakref
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from backend.gateways.exceptions import WechatApiError

_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
_Key = tuple[str, str, int]  # scheme, host, port


class WeChatApiAnswer(Exception):
    """WeChat answered with a non-zero ``errcode`` (the gateway's policy decides what follows)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


@lru_cache(maxsize=64)
def _split(url: str) -> tuple[_Key, str]:
    """``(scheme, host, port)`` and the path (with its query) of an http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WechatApiError(None, f"not an http(s) URL: {url[:80]}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (parts.scheme, parts.hostname, port), path


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle kept connection is readable only when the server closed it (or sent what nobody asked)."""
    sock = conn.sock
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _close_all(idle: dict[_Key, list[http.client.HTTPConnection]], lock: threading.Lock) -> None:
    with lock:
        conns = [c for kept in idle.values() for c in kept]
        idle.clear()
    for conn in conns:
        conn.close()


class JsonPoster:
    """POST a JSON body, get a JSON object back, over pooled keep-alive connections."""

    def __init__(self, *, timeout_s: float, maxsize: int = 32, tls: ssl.SSLContext | None = None) -> None:
        self.timeout_s = timeout_s
        self.maxsize = maxsize
        self._tls = tls  # None: the system's certificates (a default context, made on the first https call)
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        # The kept connections are closed when the poster is dropped (as urllib3 closes its pools').
        weakref.finalize(self, _close_all, self._idle, self._lock)

    def post(self, url: str, body: dict[str, Any], *, access_token: str) -> dict[str, Any]:
        """The answer of ``url?access_token=…`` to ``body`` (see the module doc)."""
        key, path = _split(url)
        data = json.dumps(body, ensure_ascii=False).encode()
        conn = self._take(key)
        try:
            conn.request("POST", f"{path}{'&' if '?' in path else '?'}access_token={access_token}", body=data,
                         headers=_HEADERS)
            res = conn.getresponse()
            raw = res.read()
        except TimeoutError:
            conn.close()
            raise WechatApiError(None, "timeout") from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise WechatApiError(None, f"network error: {type(exc).__name__}") from None
        if res.will_close:
            conn.close()
        else:
            self._give(key, conn)
        if res.status >= 400:
            raise WechatApiError(None, f"http error {res.status}")
        try:
            result = json.loads(raw.decode("utf-8", "ignore"), strict=False)
        except ValueError:
            raise WechatApiError(None, "garbled answer") from None
        if not isinstance(result, dict):
            raise WechatApiError(None, "garbled answer")
        errcode = int(result.get("errcode") or 0)
        if errcode != 0:
            raise WeChatApiAnswer(errcode, str(result.get("errmsg", errcode)))
        return result

    def _take(self, key: _Key) -> http.client.HTTPConnection:
        """An idle connection to ``key`` still open (the most recently used), else a new one."""
        while True:
            with self._lock:
                kept = self._idle.get(key)
                conn = kept.pop() if kept else None
            if conn is None:
                break
            if not _dropped(conn):
                return conn
            conn.close()
        scheme, host, port = key
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            return http.client.HTTPSConnection(host, port, timeout=self.timeout_s, context=self._tls)
        return http.client.HTTPConnection(host, port, timeout=self.timeout_s)

    def _give(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        """Keep ``conn`` for the next call, unless ``maxsize`` connections to ``key`` are kept already."""
        with self._lock:
            kept = self._idle.setdefault(key, [])
            if len(kept) < self.maxsize:
                kept.append(conn)
                return
        conn.close()

    def close(self) -> None:
        _close_all(self._idle, self._lock)
