"""The WeChat Official Account callback at ``/wechat`` (URL check and message push).

Order: timestamp window → body cap → signature (constant time, before any decryption) → decrypt →
safe XML parse → exactly-once processing → passive reply (encrypted in safe mode) or ``success``.
Every bad input is one clean 4xx with an empty body; nothing here answers 500 or shows a trace.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.crypto import CryptoError, MessageCrypto
from bot.inbound import MalformedMessage, parse_xml, to_inbound
from bot.processing import DatabaseDown, Processor
from bot.redis_guard import RedisGuard, RedisUnavailable
from bot.settings import WechatSettings

log = logging.getLogger(__name__)
router = APIRouter()

_NONCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ECHO = re.compile(r"^[\x21-\x7e]{1,256}$")


@dataclass
class WechatContext:
    """What the webhook needs, built once at start-up (``runtime.extras["wechat"]``)."""

    settings: WechatSettings
    crypto: MessageCrypto
    processor: Processor
    guard: RedisGuard


class BodyTooLarge(Exception):
    """The request body is over the cap."""


def _empty(status: int) -> Response:
    return Response(status_code=status)


def _context(request: Request) -> WechatContext:
    ctx: WechatContext = request.app.state.runtime.extras["wechat"]
    return ctx


def _fresh(ctx: WechatContext, timestamp: str, nonce: str) -> bool:
    """The timestamp is within the window and the nonce looks like WeChat's."""
    if not timestamp.isdigit() or len(timestamp) > 12 or not _NONCE.match(nonce):
        return False
    return abs(time.time() - int(timestamp)) <= ctx.settings.timestamp_window_s


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, or BodyTooLarge as soon as it passes ``limit`` bytes (chunked or lying length)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class BodyLimitMiddleware:
    """ASGI middleware: 413 for a body over ``limit`` bytes under ``path_prefix`` (streamed bodies too)."""

    def __init__(self, app: ASGIApp, *, limit: int = 256 * 1024, path_prefix: str = "/wechat") -> None:
        self.app = app
        self.limit = limit
        self.path_prefix = path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.path_prefix):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                await Response(status_code=413)(scope, receive, send)
                return
        seen = 0
        limit = self.limit

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except BodyTooLarge:
            await Response(status_code=413)(scope, receive, send)


@router.get("/wechat", include_in_schema=False)
async def verify_url(request: Request) -> Response:
    """URL verification: echo ``echostr`` as plain text when the signature is right."""
    ctx = _context(request)
    q = request.query_params
    timestamp, nonce, echostr = q.get("timestamp", ""), q.get("nonce", ""), q.get("echostr", "")
    if not _fresh(ctx, timestamp, nonce) or not _ECHO.match(echostr):
        return _empty(403)
    try:
        ctx.crypto.check_plain_signature(signature=q.get("signature"), timestamp=timestamp, nonce=nonce)
    except CryptoError:
        return _empty(403)
    return PlainTextResponse(echostr)


def _replayed(ctx: WechatContext, timestamp: str, nonce: str, signature: str, body: bytes) -> bool:
    """Plaintext mode: the same signed triple with a different body is a forgery (W-03)."""
    key = f"wx:nonce:{timestamp}:{nonce}:{signature}"
    digest = hashlib.sha256(body).hexdigest()
    try:
        fresh = ctx.guard.call(lambda r: r.set(key, digest, nx=True, ex=2 * ctx.settings.timestamp_window_s))
        if fresh:
            return False
        seen = ctx.guard.call(lambda r: r.get(key))
    except RedisUnavailable:
        return False
    return bool(seen) and seen != digest.encode()


async def receive_push(request: Request) -> Response:
    """A message or event pushed by WeChat.

    A plain Starlette route (added below): it takes the raw request and returns a raw response, so
    FastAPI's dependency solving and response handling, which it would not use, cost nothing.
    """
    ctx = _context(request)
    try:
        return await _receive(ctx, request)
    except BodyTooLarge:
        return _empty(413)
    except CryptoError as exc:
        status = 403 if exc.reason in ("bad_signature", "bad_msg_signature") else 400
        log.warning("wechat push refused: %s", exc.reason)
        return _empty(status)
    except MalformedMessage as exc:
        log.warning("wechat push malformed: %s", exc.reason)
        return _empty(400)
    except DatabaseDown:
        return _empty(503)
    except Exception as exc:  # never a 500 with a trace
        log.error("wechat push failed: %s", type(exc).__name__)
        return _empty(503)


router.add_route("/wechat", receive_push, methods=["POST"], include_in_schema=False)


async def _receive(ctx: WechatContext, request: Request) -> Response:
    q = request.query_params
    timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
    if not _fresh(ctx, timestamp, nonce):
        return _empty(403)
    body = await read_capped(request, ctx.settings.max_body_bytes)
    encrypted = q.get("encrypt_type", "raw").lower() == "aes"
    key_index = 0
    if encrypted:
        outer = parse_xml(body)
        encrypt = outer.get("Encrypt")
        if not encrypt:
            raise MalformedMessage("no_encrypt")
        ctx.crypto.check_msg_signature(msg_signature=q.get("msg_signature"), timestamp=timestamp,
                                       nonce=nonce, encrypt=encrypt)
        inner, key_index = ctx.crypto.decrypt(encrypt)
        fields = parse_xml(inner)  # compatible mode: only the decrypted payload counts
    else:
        if ctx.settings.mode == "safe":
            log.warning("wechat push without encryption refused in safe mode")
            return _empty(403)
        signature = q.get("signature", "")
        ctx.crypto.check_plain_signature(signature=signature, timestamp=timestamp, nonce=nonce)
        if _replayed(ctx, timestamp, nonce, signature, body):
            return _empty(403)
        fields = parse_xml(body)
    message = to_inbound(fields)
    expected = ctx.settings.original_id
    if expected and fields.get("ToUserName") != expected:
        log.warning("wechat push for another account refused")
        return _empty(400)
    answer = await ctx.processor.process(message)
    if answer.passive_xml is None:
        return PlainTextResponse("success")
    if not encrypted:
        return Response(answer.passive_xml, media_type="application/xml")
    xml = ctx.crypto.encrypt_reply(answer.passive_xml, nonce=nonce, timestamp=str(int(time.time())),
                                   key_index=key_index)
    return Response(xml, media_type="application/xml")


def context_of(extras: dict[str, Any]) -> WechatContext | None:
    """The webhook context stored at start-up, if any."""
    value = extras.get("wechat")
    return value if isinstance(value, WechatContext) else None
