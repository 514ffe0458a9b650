"""The console's live events: a WebSocket over the Redis Stream ``handoff:events`` (replay after a
reconnect, resync when trimmed), filtered to what each staff member may read. Included in
``backend.handoff.api.router``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import redis.asyncio as aredis
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from backend.errors import ServiceError
from backend.handoff import events
from backend.handoff.console_auth import SUPERVISORS, _console_role, websocket_staff
from backend.handoff.visibility import SocketVisibility
from backend.redis_conn import client_kwargs
from backend.runtime import Runtime
from backend.staff.deps import StaffPrincipal

router = APIRouter()
WS_BLOCK_MS = 1000
WS_PING_S = 25.0


VISIBILITY = SocketVisibility()  # shared by the console sockets of this process


def _filter(runtime: Runtime, staff: StaffPrincipal, batch: list[events.Event]) -> list[events.Event]:
    """The events of ``batch`` this staff member may receive (supervisors and admins: all)."""
    if staff.role in SUPERVISORS:
        return list(batch)
    return VISIBILITY.for_agent(runtime, staff, batch)


@router.websocket("/ws")
async def console_ws(websocket: WebSocket, after: Annotated[str | None, Query(max_length=40)] = None) -> None:
    """Events of ``handoff:events`` after ``after`` (replayed), then live; ``{"type":"resync"}`` when
    ``after`` is older than what the stream still holds. Cookie auth; an agent gets only events of
    conversations they may read. Each event: ``{"id", "type", "data"}``; keep the last ``id``."""
    runtime: Runtime = websocket.app.state.runtime
    try:
        staff = await asyncio.to_thread(websocket_staff, websocket, runtime)
        _console_role(staff)
    except ServiceError as exc:
        await websocket.close(code=4401 if exc.status_code == 401 else 4403, reason=exc.code)
        return
    client = aredis.Redis.from_url(runtime.redis_handle.url,
                                   **client_kwargs(socket_timeout=WS_BLOCK_MS / 1000 + 5, connect_timeout=2))
    try:
        last = after or await _newest(client)  # before accepting: nothing after the handshake is lost
        await websocket.accept()
        replay, resync = await events.read_after_async(client, last)
        if resync:
            last = await _newest(client)
            await websocket.send_json({"type": "resync", "id": last})
        while replay:
            await _send(websocket, runtime, staff, replay)
            last = replay[-1].id
            replay, _ = await events.read_after_async(client, last)
        receiver = asyncio.create_task(_drain(websocket))
        try:
            while not receiver.done():
                batch = await events.wait_after(client, last, block_ms=WS_BLOCK_MS)
                if batch:
                    last = batch[-1].id
                    await _send(websocket, runtime, staff, batch)
        finally:
            receiver.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        await client.aclose()


async def _newest(client: aredis.Redis) -> str:
    newest = await client.xrevrange(events.STREAM, count=1)
    return events._text(newest[0][0]) if newest else "0-0"


async def _send(websocket: WebSocket, runtime: Runtime, staff: StaffPrincipal,
                batch: list[events.Event]) -> None:
    visible = await asyncio.to_thread(_filter, runtime, staff, batch)
    for e in visible:
        await websocket.send_json(e.as_json())
    if not visible:  # let the client's "last id" move on even when nothing here was for it
        await websocket.send_json({"type": "cursor", "id": batch[-1].id})


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the browser sends, to notice when it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
