"""Staff HTTP API (``/staff/api``): login, accounts, reveal.

The routes over claims, complaints, home visits, the roster and the audit log live in their domains'
``api.py`` and use this package's dependencies (``backend.staff.deps``). Login failures are answered
with a plain 401 response (not an exception) so that the failure counter and the audit record are
committed with the request.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from typing import Annotated

import redis
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.deps import CipherDep, ClientIp, DbSession, Now, RedisDep, RowId, RuntimeDep
from backend.errors import ERROR_RESPONSES, error_body
from backend.ratelimit import Limit
from backend.runtime import Runtime
from backend.staff.auth import LoginOutcome, count_failure, login, logout, open_session, timeouts_from
from backend.staff.deps import CurrentStaff, StaffPrincipal, require_roles
from backend.staff.enrolment import finish_enrolment, start_enrolment
from backend.staff.login_guard import LoginGuard
from backend.staff.models import Role, StaffSession
from backend.staff.reveal import reveal_limit, reveal_outcome
from backend.staff.schemas import (
    ExpiredPasswordChangeIn,
    LoginIn,
    LoginOut,
    OkOut,
    PasswordChangeIn,
    RevealIn,
    RevealOut,
    RoleIn,
    StaffCreatedOut,
    StaffCreateIn,
    StaffListOut,
    StaffOut,
    TotpEnrolmentOut,
    staff_view,
)
from backend.staff.service import (
    create_staff,
    get_staff,
    list_staff,
    policy_from,
    revoke_sessions,
    set_disabled,
    set_password,
    set_role,
    unlock,
    verify_password,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/staff/api", tags=["staff"], responses=ERROR_RESPONSES)

Admin = Annotated[StaffPrincipal, Depends(require_roles(Role.ADMIN))]


def _login_failure(code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=401)


# Both factors were right (the answer says what to do next): the source's throttle slot is given back.
_FACTORS_OK = frozenset({"ok", "password_expired", "first_login"})


def _checked(body: LoginIn, db: Session, redis_client: redis.Redis, runtime: Runtime, ip: str | None,
             now: dt.datetime, *, create_session: bool = False,
             pending_totp: bool = False) -> LoginOutcome | JSONResponse:
    """Both factors checked through the per-source throttle (429 when the source is over its limit)."""
    auth = runtime.settings.auth
    guard = LoginGuard(db, redis_client, ip=ip, limit=Limit(name="staff:login-source",
                                                            count=auth.login_failures_per_source,
                                                            window_s=auth.login_window_s), now=now)
    refused = guard.enter()
    if refused is not None:
        return JSONResponse(error_body("login_throttled", "登录尝试太多，请稍后再试",
                                       {"retry_after_s": refused.retry_after_s}),
                            status_code=429, headers={"Retry-After": str(refused.retry_after_s)})
    out = login(db, cipher=runtime.cipher, username=body.username, password=body.password,
                totp_code=body.totp_code, limits=timeouts_from(auth), policy=policy_from(auth), ip=ip,
                now=now, create_session=create_session, pending_totp=pending_totp)
    guard.leave(factors_ok=out.code in _FACTORS_OK)
    if out.staff is not None and out.code == "first_login" and out.staff.totp_pending_enc is not None:
        out = replace(out, message=MSG_FIRST_LOGIN_PENDING)
    return out


MSG_LOCKED_AFTER_WRONG_PASSWORD = "原密码不对。错误太多次，账号已暂时锁定，请稍后再登录"  # noqa: S105
MSG_FIRST_LOGIN_PENDING = "第一次登录：请用新绑定的动态码完成设置，或重新开始。"


@router.post("/auth/login", response_model=LoginOut)
def auth_login(body: LoginIn, db: DbSession, redis_client: RedisDep, runtime: RuntimeDep, ip: ClientIp,
               now: Now) -> LoginOut | JSONResponse:
    """Password + TOTP code → a new bearer token (every login makes a new one); throttled per source."""
    out = _checked(body, db, redis_client, runtime, ip, now, create_session=True)
    if isinstance(out, JSONResponse):
        log.warning("staff login throttled: source %s", ip)
        return out
    if not out.ok or out.token is None or out.staff is None or out.session is None:
        # For monitoring (brute force shows up here too); never the username or what was typed.
        log.warning("staff login refused: %s from %s", out.code, ip)
        return _login_failure(out.code, out.message)
    log.info("staff login: staff id %s from %s", out.staff.id, ip)
    return _login_out(out, runtime, now)


def _login_out(out: LoginOutcome, runtime: Runtime, now: dt.datetime) -> LoginOut:
    assert out.token is not None and out.session is not None and out.staff is not None
    return LoginOut(token=out.token, expires_at=out.session.expires_at,
                    idle_timeout_s=runtime.settings.auth.idle_timeout_s, staff=staff_view(out.staff, now=now))


@router.post("/auth/first-login/start", response_model=TotpEnrolmentOut)
def auth_first_login_start(body: LoginIn, db: DbSession, redis_client: RedisDep, runtime: RuntimeDep,
                           ip: ClientIp, now: Now) -> TotpEnrolmentOut | JSONResponse:
    """A new account's first step: the given password and a code of the given TOTP secret → a new
    TOTP secret to scan (shown once; starting again replaces it)."""
    out = _checked(body, db, redis_client, runtime, ip, now)
    if isinstance(out, JSONResponse):
        return out
    if out.staff is None or out.code != "first_login":
        return _login_failure(out.code if not out.ok else "not_first_login",
                              out.message if not out.ok else "这个账号已经设置过，请直接登录")
    pending = start_enrolment(db, cipher=runtime.cipher, staff=out.staff,
                              issuer=runtime.settings.auth.totp_issuer, ip=ip, now=now)
    return TotpEnrolmentOut(totp_secret=pending.secret, otpauth_uri=pending.otpauth_uri)


@router.post("/auth/first-login/finish", response_model=LoginOut)
def auth_first_login_finish(body: ExpiredPasswordChangeIn, db: DbSession, redis_client: RedisDep,
                            runtime: RuntimeDep, ip: ClientIp, now: Now) -> LoginOut | JSONResponse:
    """A new account's second step: the given password, a code of the *new* TOTP secret and the owner's
    own password → the new password and secret replace the given ones, and a session opens."""
    out = _checked(body, db, redis_client, runtime, ip, now, pending_totp=True)
    if isinstance(out, JSONResponse):
        return out
    if out.staff is None or out.code != "first_login":
        return _login_failure(out.code if not out.ok else "not_first_login",
                              out.message if not out.ok else "这个账号已经设置过，请直接登录")
    finish_enrolment(db, cipher=runtime.cipher, staff=out.staff, new_password=body.new_password,
                     policy=policy_from(runtime.settings.auth), ip=ip, now=now)
    return _login_out(open_session(db, staff=out.staff, limits=timeouts_from(runtime.settings.auth), ip=ip,
                                   now=now), runtime, now)


@router.post("/auth/logout", response_model=OkOut)
def auth_logout(staff: CurrentStaff, db: DbSession, now: Now) -> OkOut:
    """End this session; its token stops working at once."""
    user = get_staff(db, staff_id=staff.id)
    sess = db.get(StaffSession, staff.session_id)
    assert sess is not None
    logout(db, staff=user, staff_session=sess, ip=staff.ip, now=now)
    return OkOut()


@router.get("/auth/me", response_model=StaffOut)
def auth_me(staff: CurrentStaff, db: DbSession, now: Now) -> StaffOut:
    """Who is logged in."""
    return staff_view(get_staff(db, staff_id=staff.id), now=now)


@router.post("/auth/password", response_model=OkOut)
def auth_password(body: PasswordChangeIn, staff: CurrentStaff, db: DbSession, runtime: RuntimeDep,
                  now: Now) -> OkOut | JSONResponse:
    """Change one's own password (the old one is required); other sessions are revoked.

    A wrong old password counts as a failed login: at the limit the account is locked and every
    session, this one too, ends (a stolen session cannot guess the password without end)."""
    user = get_staff(db, staff_id=staff.id)
    if not verify_password(user.password_hash, body.old_password):
        record_event(db, actor=user.username, action="password_change", object_type="staff",
                     object_id=user.id, ip=staff.ip, result="wrong_password", at=now)
        locked = count_failure(db, staff=user, limits=timeouts_from(runtime.settings.auth), now=now,
                               ip=staff.ip)
        if locked:
            revoke_sessions(db, staff_id=user.id, now=now)
        message = MSG_LOCKED_AFTER_WRONG_PASSWORD if locked else "原密码不对"
        return JSONResponse(error_body("wrong_password", message), status_code=403)
    set_password(db, staff=user, new_password=body.new_password, actor=user.username, ip=staff.ip,
                 policy=policy_from(runtime.settings.auth), keep_session_id=staff.session_id, now=now)
    return OkOut()


@router.post("/auth/password/expired", response_model=OkOut)
def auth_password_expired(body: ExpiredPasswordChangeIn, db: DbSession, redis_client: RedisDep,
                          runtime: RuntimeDep, ip: ClientIp, now: Now) -> OkOut | JSONResponse:
    """Change an expired password with both factors (no session needed); then log in again."""
    out = _checked(body, db, redis_client, runtime, ip, now)
    if isinstance(out, JSONResponse):
        return out
    if out.staff is None or not (out.ok or out.code == "password_expired"):
        return _login_failure(out.code, out.message)
    set_password(db, staff=out.staff, new_password=body.new_password, actor=out.staff.username, ip=ip,
                 policy=policy_from(runtime.settings.auth), now=now)
    return OkOut()


@router.get("/staff", response_model=StaffListOut)
def staff_list(admin: Admin, db: DbSession, now: Now) -> StaffListOut:
    """Every staff account (admins only)."""
    return StaffListOut(items=[staff_view(s, now=now) for s in list_staff(db)])


@router.post("/staff", status_code=201, response_model=StaffCreatedOut)
def staff_create(body: StaffCreateIn, admin: Admin, db: DbSession, runtime: RuntimeDep,
                 now: Now) -> StaffCreatedOut:
    """Create an account; the TOTP secret and otpauth URI are in this response only."""
    enr = create_staff(db, cipher=runtime.cipher, username=body.username, role=body.role,
                       password=body.password, display_name=body.display_name, actor=admin.username,
                       ip=admin.ip, issuer=runtime.settings.auth.totp_issuer,
                       policy=policy_from(runtime.settings.auth), now=now)
    return StaffCreatedOut(staff=staff_view(enr.staff, now=now), totp_secret=enr.totp_secret,
                           otpauth_uri=enr.otpauth_uri)


@router.post("/staff/{staff_id}/disable", response_model=StaffOut)
def staff_disable(staff_id: RowId, admin: Admin, db: DbSession, now: Now) -> StaffOut:
    """Disable an account and end its sessions."""
    return staff_view(set_disabled(db, staff_id=staff_id, disabled=True, actor=admin.username,
                                   actor_id=admin.id, ip=admin.ip, now=now), now=now)


@router.post("/staff/{staff_id}/enable", response_model=StaffOut)
def staff_enable(staff_id: RowId, admin: Admin, db: DbSession, now: Now) -> StaffOut:
    """Re-enable an account."""
    return staff_view(set_disabled(db, staff_id=staff_id, disabled=False, actor=admin.username,
                                   actor_id=admin.id, ip=admin.ip, now=now), now=now)


@router.post("/staff/{staff_id}/unlock", response_model=StaffOut)
def staff_unlock(staff_id: RowId, admin: Admin, db: DbSession, now: Now) -> StaffOut:
    """Lift a lockout after failed logins."""
    return staff_view(unlock(db, staff_id=staff_id, actor=admin.username, ip=admin.ip, now=now), now=now)


@router.post("/staff/{staff_id}/role", response_model=StaffOut)
def staff_role(staff_id: RowId, body: RoleIn, admin: Admin, db: DbSession, now: Now) -> StaffOut:
    """Change an account's role (privilege change, audited)."""
    user = set_role(db, staff_id=staff_id, role=body.role, actor=admin.username, actor_id=admin.id,
                    ip=admin.ip, now=now)
    return staff_view(user, now=now)


@router.post("/reveal", response_model=RevealOut)
def reveal(body: RevealIn, staff: CurrentStaff, db: DbSession, cipher: CipherDep, redis_client: RedisDep,
           runtime: RuntimeDep, now: Now) -> RevealOut | JSONResponse:
    """One private field in clear (claims officers, supervisors, admins); needs a reason; throttled per
    staff member; every attempt, refused ones too (a role that may not reveal included), is audited."""
    auth = runtime.settings.auth
    out = reveal_outcome(db, cipher=cipher, redis_client=redis_client,
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
