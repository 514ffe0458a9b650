"""The console's login routes (``/api/console``): password + TOTP into the ``console_session`` cookie,
logout, who am I, and revealing one private field with a reason (``backend.staff.reveal``: audited,
throttled). Included in ``backend.handoff.api.router``."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from backend.deps import ClientIp, Now, RedisDep, RuntimeDep, WriteDbSession
from backend.errors import ServiceError, error_body
from backend.handoff.console_auth import (
    clear_session_cookie,
    console_staff,
    console_token,
    csrf_token,
    set_session_cookie,
)
from backend.handoff.schemas import ConsoleLoginIn, ConsoleLoginOut, ConsoleMeOut, ConsoleStaffOut, OkOut
from backend.ratelimit import Limit
from backend.runtime import Runtime
from backend.staff.auth import authenticate, login, logout, timeouts_from
from backend.staff.deps import StaffPrincipal
from backend.staff.login_guard import LoginGuard
from backend.staff.models import StaffSession
from backend.staff.reveal import reveal_limit, reveal_outcome
from backend.staff.schemas import RevealIn, RevealOut
from backend.staff.service import get_staff, policy_from

log = logging.getLogger(__name__)
router = APIRouter()

ConsoleStaff = Annotated[StaffPrincipal, Depends(console_staff)]


def _staff_out(staff: StaffPrincipal) -> ConsoleStaffOut:
    return ConsoleStaffOut(id=staff.id, username=staff.username, role=staff.role)


# --- login -------------------------------------------------------------------------------------------

_FACTORS_OK = frozenset({"ok", "password_expired", "first_login"})


@router.post("/login", response_model=ConsoleLoginOut)
def console_login(body: ConsoleLoginIn, request: Request, db: WriteDbSession, redis_client: RedisDep,
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
def console_logout(staff: ConsoleStaff, db: WriteDbSession, runtime: RuntimeDep, now: Now) -> JSONResponse:
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


@router.post("/reveal", response_model=RevealOut)
def console_reveal(body: RevealIn, staff: ConsoleStaff, db: WriteDbSession, redis_client: RedisDep,
                   runtime: RuntimeDep, now: Now) -> RevealOut | JSONResponse:
    """One private field of the customer's claim or complaint in clear, with a reason (claims officers,
    supervisors, admins; agents are refused). Every attempt is audited, refusals too (A-03, A-04)."""
    auth = runtime.settings.auth
    out = reveal_outcome(db, cipher=runtime.cipher, redis_client=redis_client,
                         limit=reveal_limit(per_window=auth.reveals_per_window,
                                            window_s=auth.reveal_window_s),
                         object_type=body.object_type, object_id=body.object_id, field=body.field,
                         reason=body.reason, actor=staff.username, actor_id=staff.id, role=staff.role,
                         ip=staff.ip, now=now)
    if out.error is not None:  # answered without raising, so the refusal record is committed
        return JSONResponse(error_body(out.error.code, out.error.message, out.error.detail),
                            status_code=out.error.status_code, headers=out.headers)
    return RevealOut(object_type=body.object_type, object_id=body.object_id, field=body.field,
                     value=out.value)
