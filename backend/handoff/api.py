"""The agent console's HTTP API (``/api/console``): cookie login with CSRF, the queue and the agent's
own conversations, one conversation's view and actions, presence, the supervisor's agents and
dashboard, canned replies, and the live event WebSocket.

Identity and roles stay in ``backend.staff``; the queue logic is ``backend.handoff.console``; this
module only checks who may do what, shapes answers and audits reads of chat texts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from typing import Annotated, Any

import redis.asyncio as aredis
import yaml
from fastapi import APIRouter, Depends, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from backend.db import session_scope
from backend.deps import ClientIp, DbSession, Now, RedisDep, RuntimeDep
from backend.errors import ERROR_RESPONSES, Forbidden, ServiceError, error_body
from backend.handoff import events
from backend.handoff.console_auth import (
    clear_session_cookie,
    console_staff,
    console_token,
    csrf_token,
    readable_ids,
    set_session_cookie,
    websocket_staff,
)
from backend.handoff.schemas import (
    CannedListOut,
    CannedOut,
    ConsoleLoginIn,
    ConsoleLoginOut,
    ConsoleMeOut,
    ConsoleStaffOut,
    DispositionOut,
    OkOut,
)
from backend.ratelimit import Limit
from backend.redis_conn import client_kwargs
from backend.runtime import Runtime
from backend.staff.auth import authenticate, login, logout, timeouts_from
from backend.staff.deps import StaffPrincipal
from backend.staff.login_guard import LoginGuard
from backend.staff.models import Role, StaffSession
from backend.staff.service import get_staff, policy_from
from config.settings import CONFIG_DIR

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/console", tags=["console"], responses=ERROR_RESPONSES)

ConsoleStaff = Annotated[StaffPrincipal, Depends(console_staff)]
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
CONSOLE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})


def _console_role(staff: StaffPrincipal) -> StaffPrincipal:
    if staff.role not in CONSOLE_ROLES:
        raise Forbidden("forbidden", "没有权限做这件事", detail={"allowed_roles": sorted(CONSOLE_ROLES)})
    return staff


def _supervisor(staff: StaffPrincipal) -> StaffPrincipal:
    if staff.role not in SUPERVISORS:
        raise Forbidden("forbidden", "只有主管可以做这件事", detail={"allowed_roles": sorted(SUPERVISORS)})
    return staff


def agent_dep(staff: ConsoleStaff) -> StaffPrincipal:
    return _console_role(staff)


def supervisor_dep(staff: ConsoleStaff) -> StaffPrincipal:
    return _supervisor(staff)


Agent = Annotated[StaffPrincipal, Depends(agent_dep)]
Supervisor = Annotated[StaffPrincipal, Depends(supervisor_dep)]


def _staff_out(staff: StaffPrincipal) -> ConsoleStaffOut:
    return ConsoleStaffOut(id=staff.id, username=staff.username, role=staff.role)


# --- login -------------------------------------------------------------------------------------------

_FACTORS_OK = frozenset({"ok", "password_expired", "first_login"})


@router.post("/login", response_model=ConsoleLoginOut)
def console_login(body: ConsoleLoginIn, request: Request, db: DbSession, redis_client: RedisDep,
                  runtime: RuntimeDep, ip: ClientIp, now: Now) -> ConsoleLoginOut | JSONResponse:
    """Password + TOTP → a new session in the ``console_session`` cookie and its CSRF token. The session
    the browser came with (if any) is revoked: a new one every login (A-05 session fixation)."""
    auth = runtime.settings.auth
    guard = LoginGuard(db, redis_client, ip=ip, now=now,
                       limit=Limit(name="staff:login-source", count=auth.login_failures_per_source,
                                   window_s=auth.login_window_s))
    refused = guard.enter()
    if refused is not None:
        return JSONResponse(error_body("login_throttled", "登录尝试太多，请稍后再试",
                                       {"retry_after_s": refused.retry_after_s}),
                            status_code=429, headers={"Retry-After": str(refused.retry_after_s)})
    out = login(db, cipher=runtime.cipher, username=body.username, password=body.password,
                totp_code=body.totp, limits=timeouts_from(auth), policy=policy_from(auth), ip=ip, now=now)
    guard.leave(factors_ok=out.code in _FACTORS_OK)
    if not out.ok or out.token is None or out.staff is None or out.session is None:
        log.warning("console login refused: %s from %s", out.code, ip)
        return JSONResponse(error_body(out.code, out.message), status_code=401)
    _revoke_presented(db, runtime, console_token(request), now)
    staff = StaffPrincipal(id=out.staff.id, username=out.staff.username, role=out.staff.role,
                           session_id=out.session.id, ip=ip)
    body_out = ConsoleLoginOut(csrf_token=csrf_token(runtime, out.token), staff=_staff_out(staff),
                               expires_at=out.session.expires_at, idle_timeout_s=auth.idle_timeout_s)
    response = JSONResponse(body_out.model_dump(mode="json"))
    set_session_cookie(response, runtime, out.token, auth.absolute_timeout_s)
    return response


def _revoke_presented(db: Any, runtime: Runtime, token: str | None, now: dt.datetime) -> None:
    """End the session of a cookie presented at login (whoever it belonged to)."""
    if not token:
        return
    with contextlib.suppress(ServiceError):
        _user, sess = authenticate(db, token=token, limits=timeouts_from(runtime.settings.auth), now=now)
        sess.revoked_at = now
        db.flush()


@router.post("/logout", response_model=OkOut)
def console_logout(staff: ConsoleStaff, db: DbSession, runtime: RuntimeDep, now: Now) -> JSONResponse:
    """End this session (the cookie stops working at once, even if kept)."""
    sess = db.get(StaffSession, staff.session_id)
    assert sess is not None
    logout(db, staff=get_staff(db, staff_id=staff.id), staff_session=sess, ip=staff.ip, now=now)
    response = JSONResponse(OkOut().model_dump())
    clear_session_cookie(response, runtime)
    return response


@router.get("/me", response_model=ConsoleMeOut)
def console_me(staff: ConsoleStaff) -> ConsoleMeOut:
    """Who is logged in."""
    return ConsoleMeOut(staff=_staff_out(staff))


# --- canned replies ----------------------------------------------------------------------------------

@functools.cache
def console_config() -> dict[str, Any]:
    """``config/console.yaml``: canned replies and close dispositions."""
    data: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "console.yaml").read_text(encoding="utf-8"))
    return data


@router.get("/canned", response_model=CannedListOut)
def console_canned(staff: Agent) -> CannedListOut:
    """Canned replies (searchable in the chat box with ``/``) and the dispositions of closing."""
    cfg = console_config()
    return CannedListOut(items=[CannedOut(**c) for c in cfg.get("canned", [])],
                         dispositions=[DispositionOut(**d) for d in cfg.get("dispositions", [])])


# --- live events -------------------------------------------------------------------------------------

WS_BLOCK_MS = 1000
WS_PING_S = 25.0


def _visible_ids(runtime: Runtime, staff: StaffPrincipal, ids: set[int]) -> set[int]:
    """Which of these conversations this staff member may read (agents: their groups' queue and
    their own chats; supervisors: all)."""
    if staff.role in SUPERVISORS or not ids:
        return ids
    with session_scope(runtime.sessions) as db:
        return readable_ids(db, staff_id=staff.id, role=staff.role, ids=ids)


def _filter(runtime: Runtime, staff: StaffPrincipal, batch: list[events.Event]) -> list[events.Event]:
    ids = {int(e.data["handoff_id"]) for e in batch if isinstance(e.data.get("handoff_id"), int)}
    allowed = _visible_ids(runtime, staff, ids)
    out = []
    for e in batch:
        hid = e.data.get("handoff_id")
        if hid is None:
            mine = e.data.get("staff_id") == staff.id
            if e.type != "agent.state" or staff.role in SUPERVISORS or mine:
                out.append(e)
        elif hid in allowed:
            out.append(e)
    return out


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
