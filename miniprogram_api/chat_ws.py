"""The mini-program chat over a WebSocket (``wx.connectSocket``): the same messages and lines as
``POST``/``GET /chat/messages`` (:mod:`miniprogram_api.chat`), pushed instead of polled.

Connect to ``/mp/v1/chat/ws?after=<cursor>`` with the header ``Authorization: Bearer <token>`` (the
login token; a bad one closes the socket with code 4401 before it opens, as does a logout or a deleted
account while it is open). The token travels in a header, never in a cookie, so another site cannot
open a socket as the customer.

* client → server: ``{"type": "message", "id": "<Idempotency-Key>", "text": "…"}``
* server → client: ``{"type": "sent", "id", "repeated", "items"}`` (the message and the bot's replies),
  ``{"type": "lines", "items", "cursor"}`` (everything new since the cursor: the customer's lines, the
  bot's and, once delivered, an agent's; it may repeat lines a ``sent`` gave: keep one per ``id``),
  ``{"type": "error", "id", "error": {"code", "message"}}``.

The server looks for new lines every second (the same read as the poll); a message sent here and
retried with ``POST /chat/messages`` and the same key is handled once. Database work runs in worker
threads that a closing socket waits for (``run_in_threadpool``), never abandoned mid-query.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from backend.accounts.models import CustomerAccount
from backend.accounts.sessions import check_session, not_logged_in
from backend.db import session_scope
from backend.errors import ServiceError
from backend.runtime import Runtime
from miniprogram_api.chat import lines_after, parse_cursor, run_message
from miniprogram_api.deps import limit

router = APIRouter()
POLL_S = 1.0
FRAMES_QUEUED = 8  # frames read ahead of the loop (the client waits for a full queue)
GONE = object()
KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")  # as the Idempotency-Key header


@dataclass(frozen=True, slots=True)
class SocketCustomer:
    account_id: int
    openid: str
    token: str


def _customer(runtime: Runtime, authorization: str | None) -> SocketCustomer:
    """The customer of the socket's bearer token (Unauthorized otherwise)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise not_logged_in()
    sess = check_session(runtime.redis, token=token, idle_s=runtime.settings.miniprogram.session_idle_s)
    with session_scope(runtime.sessions) as db:
        account = db.get(CustomerAccount, sess.account_id)
        if account is None or account.openid != sess.openid:
            raise not_logged_in()
        return SocketCustomer(account_id=account.id, openid=account.openid, token=token)


def _still_logged_in(runtime: Runtime, who: SocketCustomer) -> bool:
    try:
        return _customer(runtime, f"Bearer {who.token}").account_id == who.account_id
    except ServiceError:
        return False


def _error(frame_id: Any, exc: ServiceError) -> dict[str, Any]:
    return {"type": "error", "id": frame_id, "error": {"code": exc.code, "message": exc.message}}


async def _handle(websocket: WebSocket, runtime: Runtime, who: SocketCustomer, frame: Any) -> None:
    """One frame from the mini-program: a message (anything else is answered with an error)."""
    frame_id = frame.get("id") if isinstance(frame, dict) else None
    if (
        not isinstance(frame, dict)
        or frame.get("type") != "message"
        or not isinstance(frame_id, str)
        or not KEY.match(frame_id)
        or not isinstance(frame.get("text"), str)
    ):
        bad = ServiceError("bad_frame", "消息格式不对，请刷新后再发一次")
        await websocket.send_json(_error(frame_id if isinstance(frame_id, str) else None, bad))
        return
    try:
        await run_in_threadpool(limit, runtime, "write_per_user", str(who.account_id))
        out = await run_message(
            runtime, account_id=who.account_id, openid=who.openid, text=frame["text"], key=frame_id
        )
    except ServiceError as exc:
        await websocket.send_json(_error(frame_id, exc))
        return
    await websocket.send_json({"type": "sent", "id": frame_id, **out.model_dump(mode="json")})


def _new_lines(runtime: Runtime, who: SocketCustomer, since: Any) -> dict[str, Any]:
    with session_scope(runtime.sessions) as db:
        return lines_after(db, cipher=runtime.cipher, openid=who.openid, since=since).model_dump(mode="json")


@router.websocket("/chat/ws")
async def chat_ws(websocket: WebSocket, after: Annotated[str | None, Query(max_length=21)] = None) -> None:
    """See the module docstring."""
    runtime: Runtime = websocket.app.state.runtime
    try:
        who = await run_in_threadpool(_customer, runtime, websocket.headers.get("authorization"))
        since = parse_cursor(after)
    except ServiceError as exc:
        await websocket.close(code=4401 if exc.status_code == 401 else 4400, reason=exc.code)
        return
    await websocket.accept()
    frames: asyncio.Queue[Any] = asyncio.Queue(maxsize=FRAMES_QUEUED)
    receiver = asyncio.create_task(_receive(websocket, frames))
    try:
        while True:
            try:
                frame: Any = await asyncio.wait_for(frames.get(), timeout=POLL_S)
            except TimeoutError:
                frame = None
            if frame is GONE:
                return
            if not await run_in_threadpool(_still_logged_in, runtime, who):
                await websocket.close(code=4401, reason="not_logged_in")
                return
            if frame is not None:
                await _handle(websocket, runtime, who, frame)
            page = await run_in_threadpool(_new_lines, runtime, who, since)
            if page["items"]:
                since = parse_cursor(page["cursor"])
                await websocket.send_json({"type": "lines", **page})
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        receiver.cancel()


async def _receive(websocket: WebSocket, frames: asyncio.Queue[Any]) -> None:
    """Read the client's frames into ``frames`` (never cancelled mid-read by the loop's timeout, so a
    close is never lost); ``GONE`` once the client has gone."""
    try:
        while True:
            try:
                frame: Any = await websocket.receive_json()
            except (ValueError, KeyError):  # not JSON text
                frame = "bad"
            await frames.put(frame)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        with contextlib.suppress(asyncio.QueueFull):  # full: the loop drains it and then times out
            frames.put_nowait(GONE)
