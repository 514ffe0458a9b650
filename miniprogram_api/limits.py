"""Body-size caps for the mini-program API, enforced in ASGI before any body is read (M-06).

Starlette would read (and spool) a whole multipart body before a handler could look at it, so the
cap lives here: a declared ``Content-Length`` over the cap is answered 413 at once, without reading;
a body without one (chunked) or with a lying one is counted as it streams and cut off at the cap.
Uploads get the file cap plus room for the multipart envelope; everything else gets the JSON cap.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import ServiceError, error_body

ENVELOPE = 16 * 1024


def _too_large_body() -> bytes:
    return json.dumps(
        error_body("body_too_large", "内容太大了，请换一个小一点的文件"), ensure_ascii=False
    ).encode()


class BodyTooLarge(ServiceError):
    """Raised from ``receive`` when a streamed body passes the cap (the error handlers answer 413)."""

    status_code = 413

    def __init__(self) -> None:
        super().__init__("body_too_large", "内容太大了，请换一个小一点的文件")


class MiniProgramLimits:
    """ASGI middleware over ``prefix`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, prefix: str, upload_bytes: int, json_bytes: int) -> None:
        self.app = app
        self.prefix = prefix
        self.upload_cap = upload_bytes + ENVELOPE
        self.json_cap = json_bytes

    def _cap(self, scope: Scope) -> int:
        path = str(scope.get("path", ""))
        return self.upload_cap if path.endswith("/attachments") else self.json_cap

    async def _refuse(self, send: Send) -> None:
        body = _too_large_body()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        cap = self._cap(scope)
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > cap):
                await self._refuse(send)
                return
        seen = 0
        started = False

        async def capped_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, capped_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)
