"""The HTTP edge of the app, as plain ASGI middleware: who the client is, how large a body may be, and
the security headers of every answer (catalogue A-05, C-10).

* **Proxy headers**: ``X-Forwarded-For`` is believed only from the proxies named in
  ``CS_HTTP__TRUSTED_PROXIES`` (uvicorn's own middleware; the server runs with its proxy headers off,
  so this setting is the one place that decides, whatever server runs the app).
* **Body cap** (one middleware, `BodyLimit`, also under the mini-program API with its own caps and words):
  a staff API body over ``CS_HTTP__STAFF_MAX_BODY_BYTES`` (a console API body over
  ``CS_HTTP__CONSOLE_MAX_BODY_BYTES``: a 10 MB picture and its form) is refused with 413 before the
  app reads it (a lying or missing Content-Length too: the stream is counted), so a 50 MB login body is
  never read before authentication.
* **Security headers** on every answer of the app: a Content-Security-Policy that a console of plain
  HTML and JavaScript, with its scripts vendored and no inline script, can live with (and
  ``frame-ancestors 'none'``); ``nosniff``; no referrer; and ``Cache-Control: no-store`` unless a
  route set its own (staff answers carry tokens and personal data). The WeChat pushes are answered by
  the webhook's front door ahead of all this (``bot.webhook.WechatFrontDoor``): they go to WeChat's
  servers, never to a browser, so their hot path carries none of these headers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from backend.errors import error_body
from config.settings import Settings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# The API pages of local mode (backend.api_docs) start Swagger UI / ReDoc with an inline script.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'")
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

_COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
           (b"x-frame-options", b"DENY")]
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """Adds the security headers to every HTTP answer of the app it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._app_headers = [*_COMMON, (b"content-security-policy", CSP.encode())]
        self._docs_headers = [*_COMMON, (b"content-security-policy", DOCS_CSP.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs_headers if scope.get("path") in DOCS_PATHS else self._app_headers

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in extra if h[0] not in names]
                if b"cache-control" not in names:
                    headers.append(_NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


TOO_LARGE = "内容太大了，请分开发送"


class BodyTooLarge(HTTPException):
    """Raised while the body streams in past the cap (FastAPI re-raises HTTPExceptions met reading a
    body, where any other exception would become a 400); carries the error's code and message."""

    def __init__(self, code: str = "http_413", message: str = TOO_LARGE) -> None:
        super().__init__(status_code=413, detail="request body too large")
        self.code, self.message = code, message


def _too_large_response(code: str, message: str) -> tuple[Message, Message]:
    body = json.dumps(error_body(code, message, "request body too large"), ensure_ascii=False).encode()
    start = {"type": "http.response.start", "status": 413,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]}
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    """Refuses request bodies over the cap under ``prefix`` before the app reads them (413): a declared
    Content-Length over it at once, without reading; a body without one (chunked) or with a lying one
    counted as it streams and cut off at the cap. ``limit``: the cap in bytes, or the cap of a path."""

    def __init__(self, app: ASGIApp, *, prefix: str, limit: int | Callable[[str], int],
                 code: str = "http_413", message: str = TOO_LARGE) -> None:
        self.app = app
        self.prefix = prefix
        self.cap_of: Callable[[str], int] = limit if callable(limit) else (lambda _path: limit)
        self.code, self.message = code, message

    async def _refuse(self, send: Send) -> None:
        for message in _too_large_response(self.code, self.message):
            await send(message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        cap = self.cap_of(path)
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > cap):
                await self._refuse(send)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge(self.code, self.message)
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracking)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(send)


def trusted_proxies(value: str) -> list[str]:
    """The configured proxies as a list (empty: X-Forwarded-For is never believed)."""
    return [item.strip() for item in value.split(",") if item.strip()]


def install_edge(app: FastAPI, settings: Settings) -> None:
    """Add the edge middleware (before the webhook's front door, which must stay outermost)."""
    app.add_middleware(BodyLimit, prefix="/staff/", limit=settings.http.staff_max_body_bytes)
    app.add_middleware(BodyLimit, prefix="/api/console/", limit=settings.http.console_max_body_bytes)
    app.add_middleware(SecurityHeaders)
    proxies = trusted_proxies(settings.http.trusted_proxies)
    if proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How ``python -m backend serve`` runs uvicorn: proxy headers are the app's business (above), no
    ``server`` header, and an access log without query strings (``backend.logs``)."""
    from backend.logs import uvicorn_log_config

    return {"proxy_headers": False, "server_header": False, "log_config": uvicorn_log_config(),
            "log_level": "info"}
