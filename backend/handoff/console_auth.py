"""The console's cookie session and CSRF check (catalogue A-01, A-05).

The console is a browser page, so it logs in with a cookie instead of the staff API's bearer header:
the cookie ``console_session`` holds the same opaque session token (``backend.staff.auth``: password +
TOTP, lockout, idle and absolute timeouts). The cookie is HttpOnly, SameSite=Strict, Path=/, and Secure
in production mode. Every login opens a new session and revokes the one the browser came with, so a
planted cookie never becomes a logged-in session (session fixation).

CSRF: the token handed out at login is an HMAC of the session token under ``auth.session_secret``; it
is bound to that session (a token of another session does not fit) and must come back in the header
``X-CSRF-Token`` of every request that changes state (every method but GET/HEAD/OPTIONS).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from fastapi import Request, Response, WebSocket
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import session_scope
from backend.deps import ClientIp, Now, RuntimeDep, WriteDbSession
from backend.errors import Forbidden
from backend.handoff.agents import CONSOLE_ROLES
from backend.handoff.console_views import agent_groups
from backend.handoff.models import HandoffRequest
from backend.runtime import Runtime
from backend.staff.auth import authenticate, timeouts_from
from backend.staff.deps import StaffPrincipal
from backend.staff.models import Role

COOKIE = "console_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(runtime: Runtime, session_token: str) -> str:
    """The CSRF token of one session (HMAC-SHA256 under the session secret)."""
    key = runtime.settings.auth.session_secret.get_secret_value().encode()
    return hmac.new(key, b"console-csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def set_session_cookie(response: Response, runtime: Runtime, token: str, max_age_s: int) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Path=/, Secure in production mode."""
    response.set_cookie(COOKIE, token, max_age=max_age_s, path="/", httponly=True, samesite="strict",
                        secure=runtime.settings.mode == "production")


def clear_session_cookie(response: Response, runtime: Runtime) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=runtime.settings.mode == "production")


def _principal(db: Session, runtime: Runtime, token: str | None, now: dt.datetime,
               ip: str | None) -> StaffPrincipal:
    staff, sess = authenticate(db, token=token, limits=timeouts_from(runtime.settings.auth), now=now)
    return StaffPrincipal(id=staff.id, username=staff.username, role=staff.role, session_id=sess.id, ip=ip)


def console_staff(request: Request, db: WriteDbSession, runtime: RuntimeDep, now: Now,
                  ip: ClientIp) -> StaffPrincipal:
    """The staff member of the console cookie; 401 without a live session, 403 ``csrf_failed`` when a
    state-changing request lacks the session's CSRF token."""
    token = request.cookies.get(COOKIE)
    principal = _principal(db, runtime, token, now, ip)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        assert token is not None  # authenticate refused a missing token
        if not sent or not hmac.compare_digest(sent, csrf_token(runtime, token)):
            raise Forbidden("csrf_failed", "页面已过期，请刷新后再试")
    return principal


def console_token(request: Request) -> str | None:
    """The raw session token of the console cookie (logout and session rotation)."""
    return request.cookies.get(COOKIE)


def websocket_staff(websocket: WebSocket, runtime: Runtime) -> StaffPrincipal:
    """The staff member of a WebSocket's cookie (``Unauthorized`` otherwise). The browser sends the
    SameSite=Strict cookie only from our own pages; the Origin is checked as well (cross-site
    WebSocket hijacking)."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    if origin is not None and host is not None and origin.split("://", 1)[-1] != host:
        raise Forbidden("bad_origin", "来源不对")
    token = websocket.cookies.get(COOKIE)
    client = websocket.client.host if websocket.client else None
    with session_scope(runtime.sessions, write=True) as db:
        return _principal(db, runtime, token, runtime.clock(), client)



def readable_ids(db: Session, *, staff_id: int, role: str, ids: set[int]) -> set[int]:
    """Which of these conversations a staff member may read (A-02). Supervisors and admins: all.
    Agents: those assigned to them, and those waiting in the queue of one of their groups (an
    escalated one is offered to every group), except a low rating's follow-up (for supervisors)."""
    if role in ("supervisor", "admin"):
        return set(ids)
    if role != "agent" or not ids:
        return set()
    groups = agent_groups(db, staff_id)
    rows = db.execute(select(HandoffRequest.id, HandoffRequest.status, HandoffRequest.skill_group,
                             HandoffRequest.agent_id, HandoffRequest.escalated, HandoffRequest.reason)
                      .where(HandoffRequest.id.in_(ids)))
    return {hid for hid, status, group, agent_id, escalated, reason in rows
            if agent_id == staff_id
            or (status == "queued" and reason != "follow_up" and (escalated or group in groups))}


SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})


def _console_role(staff: StaffPrincipal) -> StaffPrincipal:
    """The console is for agents, supervisors and admins."""
    if staff.role not in CONSOLE_ROLES:
        raise Forbidden("forbidden", "没有权限做这件事", detail={"allowed_roles": sorted(CONSOLE_ROLES)})
    return staff
