"""The web chat page and its API under ``/chat/``: mounted by the composition root in local mode only.

``GET /chat/`` serves the phone-sized customer page (plain HTML, CSS and JavaScript from ``static/``)
and gives the browser an anonymous random cookie: the customer's identity on this channel. The page
sends with ``POST /chat/api/messages`` (the dialogue engine answers, once per ``client_id``) and polls
``GET /chat/api/messages?after=<cursor>`` every 1–2 seconds for what came since (agents' replies,
the rating question).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Cookie, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from backend.deps import CipherDep, DbSession, RowId, RuntimeDep
from backend.errors import ERROR_RESPONSES, NotFound, ServiceError, Unauthorized
from backend.handoff.pictures import PICTURE_RESPONSE, picture_bytes
from backend.runtime import Runtime
from backend.webchat import copy
from backend.webchat import service as chat
from backend.webchat.schemas import ChatItem, ChatPage, SendIn, SendOut

COOKIE = "cs_chat"
COOKIE_MAX_AGE_S = 30 * 24 * 3600
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = frozenset({"chat.js", "chat.css"})
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8"}

router = APIRouter(prefix="/chat", tags=["网页聊天（本地模式）"])
ChatCookie = Annotated[str | None, Cookie(alias=COOKIE, include_in_schema=False)]


def _file(name: str) -> FileResponse:
    path = STATIC / name
    return FileResponse(path, media_type=_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


@router.get("", include_in_schema=False)
def chat_bare() -> RedirectResponse:
    return RedirectResponse("/chat/", status_code=307)


@router.get("/", include_in_schema=False)
def chat_page(request: Request, cs_chat: ChatCookie = None) -> FileResponse:
    """The customer's chat page; a new anonymous cookie unless the browser has one."""
    response = _file("chat.html")
    if not chat.valid_cookie(cs_chat):
        response.set_cookie(COOKIE, secrets.token_urlsafe(24), max_age=COOKIE_MAX_AGE_S, path="/chat",
                            httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.get("/static/{name}", include_in_schema=False)
def chat_asset(name: str) -> FileResponse:
    """The page's script and style sheet (a fixed list)."""
    if name not in ASSETS:
        raise HTTPException(status_code=404)
    return _file(name)


def _customer(runtime: Runtime, cookie: str | None) -> str:
    if not chat.valid_cookie(cookie):
        raise Unauthorized("no_chat_session", copy.NO_SESSION)
    assert cookie is not None
    return chat.customer_id(cookie, secret=runtime.settings.auth.session_secret.get_secret_value())


@router.post("/api/messages", response_model=SendOut, responses=ERROR_RESPONSES)
async def send_message(body: SendIn, runtime: RuntimeDep, cs_chat: ChatCookie = None) -> SendOut:
    """Send the customer's text through the dialogue engine; the same ``client_id`` again is not run
    again (the first answer comes back, ``repeated``)."""
    user_id = _customer(runtime, cs_chat)
    text = chat.check_message(text=body.text, client_id=body.client_id)
    if runtime.chat_turn is None:
        raise ServiceError("chat_unavailable", copy.NOT_READY, status_code=503)
    msg_key = chat.message_key(user_id, body.client_id)
    ran = await run_in_threadpool(runtime.chat_turn, channel=chat.CHANNEL, user_id=user_id, text=text,
                                  msg_key=msg_key)
    with runtime.sessions() as session:
        items = chat.message_items(session, cipher=runtime.cipher, msg_key=msg_key)
    return SendOut(items=[ChatItem(**item) for item in items], repeated=not ran)


@router.get("/api/messages", response_model=ChatPage, responses=ERROR_RESPONSES)
def poll_messages(runtime: RuntimeDep, db: DbSession, cipher: CipherDep, cs_chat: ChatCookie = None,
                  after: Annotated[str | None, Query(max_length=40, description="上次返回的 cursor")] = None,
                  ) -> ChatPage:
    """Everything of this customer after the cursor, oldest first: their messages, the bot's
    replies, agents' replies and system lines once delivered."""
    user_id = _customer(runtime, cs_chat)
    items, cursor = chat.lines_after(db, cipher=cipher, user_id=user_id, after=chat.parse_cursor(after))
    return ChatPage(items=[ChatItem(**item) for item in items], cursor=str(cursor))


@router.get("/api/pictures/{message_id}", response_class=StreamingResponse,
            responses={**ERROR_RESPONSES, 200: PICTURE_RESPONSE})
def picture(message_id: RowId, runtime: RuntimeDep, db: DbSession, cs_chat: ChatCookie = None,
            ) -> StreamingResponse:
    """A picture an agent sent to this customer: only through this customer's own chat cookie, never
    a public URL (another customer's picture is the same 404 as none)."""
    user_id = _customer(runtime, cs_chat)
    msg = chat.customer_picture(db, user_id=user_id, message_id=message_id)
    if msg is None:
        raise NotFound("picture_not_found", copy.PICTURE_NOT_FOUND)
    return StreamingResponse(picture_bytes(runtime.file_store, msg),
                             media_type=msg.attachment_type or "application/octet-stream",
                             headers={"Cache-Control": "private, no-store"})
