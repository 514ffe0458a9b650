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
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.answers import DatabaseDown
from bot.crypto import CryptoError, MessageCrypto
from bot.inbound import MalformedMessage, parse_document, parse_xml, to_inbound
from bot.inbox_protocol import nonce_key
from bot.processing import Processor
from bot.redis_guard import RedisGuard, RedisUnavailable
from bot.safe_log import quiet_access_log
from bot.settings import WechatSettings

log = logging.getLogger(__name__)
router = APIRouter()

_NONCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ECHO = re.compile(r"^[\x21-\x7e]{1,256}$")


@dataclass
class WechatContext:
    """What the webhook needs, built once at start-up (``runtime.wechat``)."""

    settings: WechatSettings
    crypto: MessageCrypto
    processor: Processor
    guard: RedisGuard


class BodyTooLarge(Exception):
    """The request body is over the cap."""


class ClientGone(Exception):
    """The client disconnected before its body arrived."""


def _empty(status: int) -> Response:
    return Response(status_code=status)


def _context(request: Request) -> WechatContext:
    ctx: WechatContext = request.app.state.runtime.wechat
    return ctx


def _fresh(ctx: WechatContext, timestamp: str, nonce: str) -> bool:
    """The timestamp is within the window and the nonce looks like WeChat's."""
    if not timestamp.isdigit() or len(timestamp) > 12 or not _NONCE.match(nonce):
        return False
    return abs(time.time() - int(timestamp)) <= ctx.settings.timestamp_window_s


def _declared_too_large(scope: Scope, limit: int) -> bool:
    """The Content-Length header is over ``limit`` or not a number."""
    return any(name == b"content-length" and (not value.isdigit() or int(value) > limit)
               for name, value in scope.get("headers", ()))


async def _read_capped(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The body, or BodyTooLarge as soon as it passes ``limit`` bytes (chunked or lying length)."""
    if _declared_too_large(scope, limit):
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class WechatFrontDoor:
    """ASGI middleware that serves ``POST /wechat`` itself and caps every body under ``/wechat``.

    The webhook takes most of the traffic and needs nothing of the framework (no dependencies, no
    validation, its own error mapping): answering it here, ahead of the routing and the exception
    middleware, saves their cost on every message. Other paths and methods go to the app.
    """

    def __init__(self, app: ASGIApp, *, limit: int = 256 * 1024, path: str = "/wechat") -> None:
        self.app = app
        self.limit = limit
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.path):
            await self.app(scope, receive, send)
            return
        if scope["path"] == self.path and scope["method"] == "POST":
            status, body, ctype = await _push(scope, receive, self.limit)
            headers = [(b"content-length", str(len(body)).encode())]
            if ctype:
                headers.append((b"content-type", ctype))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if _declared_too_large(scope, self.limit):
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


def install_webhook(app: FastAPI, *, max_body_bytes: int, path: str = "/wechat") -> None:
    """Mount the webhook on ``app``: the URL check route and the front door for pushes; the access log
    keeps no query string of it (it carries the sender's openid)."""
    app.include_router(router)
    app.add_middleware(WechatFrontDoor, limit=max_body_bytes, path=path)
    quiet_access_log(path)


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
    key = nonce_key(timestamp, nonce, signature)
    digest = hashlib.sha256(body).hexdigest()
    try:
        fresh = ctx.guard.call(lambda r: r.set(key, digest, nx=True, ex=2 * ctx.settings.timestamp_window_s))
        if fresh:
            return False
        seen = ctx.guard.call(lambda r: r.get(key))
    except RedisUnavailable:
        return False
    return bool(seen) and seen != digest.encode()


_XML = b"application/xml"
_TEXT = b"text/plain; charset=utf-8"
_Reply = tuple[int, bytes, bytes]


async def _push(scope: Scope, receive: Receive, limit: int) -> _Reply:
    """A message or event pushed by WeChat: (status, body, content type)."""
    try:
        ctx: WechatContext = scope["app"].state.runtime.wechat
        return await _receive(ctx, scope, receive, limit)
    except BodyTooLarge:
        return 413, b"", b""
    except ClientGone:
        return 400, b"", b""
    except CryptoError as exc:
        status = 403 if exc.reason in ("bad_signature", "bad_msg_signature") else 400
        log.warning("wechat push refused: %s", exc.reason)
        return status, b"", b""
    except MalformedMessage as exc:
        log.warning("wechat push malformed: %s", exc.reason)
        return 400, b"", b""
    except DatabaseDown:
        return 503, b"", b""
    except Exception as exc:  # never a 500 with a trace
        log.error("wechat push failed: %s", type(exc).__name__)
        return 503, b"", b""


async def _receive(ctx: WechatContext, scope: Scope, receive: Receive, limit: int) -> _Reply:
    q = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
    timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
    if not _fresh(ctx, timestamp, nonce):
        return 403, b"", b""
    body = await _read_capped(scope, receive, min(limit, ctx.settings.max_body_bytes))
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
        doc = parse_document(inner)  # compatible mode: only the decrypted payload counts
    else:
        if ctx.settings.mode == "safe":
            log.warning("wechat push without encryption refused in safe mode")
            return 403, b"", b""
        signature = q.get("signature", "")
        ctx.crypto.check_plain_signature(signature=signature, timestamp=timestamp, nonce=nonce)
        if _replayed(ctx, timestamp, nonce, signature, body):
            return 403, b"", b""
        doc = parse_document(body)
    message = to_inbound(doc.fields, doc.nested)
    expected = ctx.settings.original_id
    if expected and doc.fields.get("ToUserName") != expected:
        log.warning("wechat push for another account refused")
        return 400, b"", b""
    answer = await ctx.processor.process(message)
    if answer.passive_xml is None:
        return 200, b"success", _TEXT
    if not encrypted:
        return 200, answer.passive_xml.encode(), _XML
    xml = ctx.crypto.encrypt_reply(answer.passive_xml, nonce=nonce, timestamp=str(int(time.time())),
                                   key_index=key_index)
    return 200, xml.encode(), _XML
