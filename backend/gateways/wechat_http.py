"""A pooled keep-alive JSON poster for the WeChat API's hot calls (template and subscribe messages).

wechatpy goes through ``requests`` (a ``Session`` whose pool keeps 10 connections) and its
``access_token`` property reads the shared token again on every call. The hot calls come here
instead: a small HTTP/1.1 client over keep-alive sockets (TLS for ``https``, with the system's
certificates and the host name checked), one connection per sending thread at a time, at most
``maxsize`` kept idle. Measured for one POST and its JSON answer from the sending threads (the figures
are in the commit that brought it), it costs a fraction of the CPU of urllib3, which it replaces, of
``http.client`` and of aiohttp: no header objects, no retries, no redirects, no cookies.

The answer is read the way wechatpy reads it: a non-zero ``errcode`` is a :class:`WeChatApiAnswer`,
any transport failure a :class:`WechatApiError` with the same words as the wechatpy path. A failed
exchange closes its connection and is not repeated (the caller decides: a template message is sent
again with the same ``client_msg_id``). A kept connection the server has closed meanwhile is noticed
before it is used, and a new one opened.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import ssl
import threading
import time
import weakref
from functools import lru_cache
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from backend.gateways.exceptions import WechatApiError

_MAX_LINE = 65536
_MAX_HEADERS = 100


class WeChatApiAnswer(Exception):
    """WeChat answered with a non-zero ``errcode`` (the gateway's policy decides what follows)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class _BadAnswer(Exception):
    """The server's bytes are not an HTTP answer (closed early, malformed)."""


@lru_cache(maxsize=64)
def _origin(url: str) -> tuple[tuple[str, str, int], str, str]:
    """(scheme, host, port), the Host header and the path of ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WechatApiError(None, f"network error: bad url scheme {parts.scheme!r}")
    default = 443 if parts.scheme == "https" else 80
    port = parts.port or default
    host_header = parts.hostname if port == default else f"{parts.hostname}:{port}"
    return (parts.scheme, parts.hostname, port), host_header, parts.path or "/"


class _Connection:
    def __init__(self, origin: tuple[str, str, int], deadline: float, tls: ssl.SSLContext | None) -> None:
        scheme, host, port = origin
        sock = socket.create_connection((host, port), timeout=max(0.001, deadline - time.monotonic()))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            assert tls is not None
            try:
                sock = tls.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock
        self.rfile: BinaryIO = sock.makefile("rb")

    def dropped(self) -> bool:
        """True when the server closed (or wrote to) this idle connection: not to be used."""
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        poller = select.poll()
        try:
            poller.register(self.sock, select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True

    def exchange(self, request: bytes, deadline: float) -> tuple[int, bytes, bool]:
        """Send one request; the answer's status, body, and whether the connection may be kept."""
        self.sock.settimeout(max(0.001, deadline - time.monotonic()))
        self.sock.sendall(request)
        rfile = self.rfile
        status_line = rfile.readline(_MAX_LINE + 1)
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise _BadAnswer("no status line" if not status_line else "bad status line")
        status, keep = int(parts[1]), parts[0] == b"HTTP/1.1"
        length: int | None = None
        chunked = False
        for _ in range(_MAX_HEADERS):
            line = rfile.readline(_MAX_LINE + 1)
            if line in (b"\r\n", b"\n"):
                break
            if not line or len(line) > _MAX_LINE:
                raise _BadAnswer("headers cut short")
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep = keep and value.strip().lower() != b"close"
        else:
            raise _BadAnswer("too many headers")
        self.sock.settimeout(max(0.001, deadline - time.monotonic()))
        if chunked:
            body = self._chunks()
        elif length is not None:
            body = rfile.read(length)
            if len(body) < length:
                raise _BadAnswer("body cut short")
        else:  # the body ends when the server closes
            body, keep = rfile.read(), False
        return status, body, keep

    def _chunks(self) -> bytes:
        out = bytearray()
        while True:
            size_line = self.rfile.readline(_MAX_LINE + 1)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadAnswer("bad chunk size") from None
            if size == 0:
                while self.rfile.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(out)
            chunk = self.rfile.read(size + 2)
            if len(chunk) < size + 2:
                raise _BadAnswer("chunk cut short")
            out += chunk[:size]

    def close(self) -> None:
        for closing in (self.rfile, self.sock):
            with contextlib.suppress(OSError):
                closing.close()


class JsonPoster:
    """POST a JSON body, get a JSON object back, over pooled keep-alive connections."""

    def __init__(self, *, timeout_s: float, maxsize: int = 32, tls: ssl.SSLContext | None = None) -> None:
        self.timeout_s = timeout_s
        self.maxsize = maxsize
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._lock = threading.Lock()
        self._tls = tls  # None: the system's certificates, made on the first https call
        # The kept connections are closed when the poster is dropped (as urllib3 closes its pools').
        weakref.finalize(self, _close_all, self._idle, self._lock)

    def post(self, url: str, body: dict[str, Any], *, access_token: str) -> dict[str, Any]:
        """The answer of ``url?access_token=…`` to ``body`` (see the module doc)."""
        origin, host, path = _origin(url)
        data = json.dumps(body, ensure_ascii=False).encode()
        request = (f"POST {path}?access_token={access_token} HTTP/1.1\r\nHost: {host}\r\n"
                   "Content-Type: application/json; charset=utf-8\r\nAccept: application/json\r\n"
                   f"Content-Length: {len(data)}\r\n\r\n").encode() + data
        deadline = time.monotonic() + self.timeout_s
        conn: _Connection | None = None
        try:
            conn = self._checkout(origin, deadline)
            status, raw, keep = conn.exchange(request, deadline)
        except TimeoutError:
            if conn is not None:
                conn.close()
            raise WechatApiError(None, "timeout") from None
        except (OSError, ValueError, _BadAnswer) as exc:
            if conn is not None:
                conn.close()
            raise WechatApiError(None, f"network error: {type(exc).__name__}") from None
        if keep:
            self._checkin(origin, conn)
        else:
            conn.close()
        if status >= 400:
            raise WechatApiError(None, f"http error {status}")
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

    def _checkout(self, origin: tuple[str, str, int], deadline: float) -> _Connection:
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
            if conn is None:
                break
            if not conn.dropped():
                return conn
            conn.close()
        if origin[0] == "https" and self._tls is None:
            self._tls = ssl.create_default_context()
        return _Connection(origin, deadline, self._tls)

    def _checkin(self, origin: tuple[str, str, int], conn: _Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self.maxsize:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        _close_all(self._idle, self._lock)


def _close_all(idle: dict[tuple[str, str, int], list[_Connection]], lock: threading.Lock) -> None:
    with lock:
        conns = [c for kept in idle.values() for c in kept]
        idle.clear()
    for conn in conns:
        conn.close()
