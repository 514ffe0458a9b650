"""Staff HTTP API (``/staff/api``): login, accounts, reveal.

The routes over claims, complaints, home visits, the roster and the audit log live in their domains'
``api.py`` and use this package's dependencies (``backend.staff.deps``). Login failures are answered
with a plain 401 response (not an exception) so that the failure counter and the audit record are
committed with the request.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from backend.audit.service import record_event
from backend.deps import CipherDep, ClientIp, DbSession, Now, RowId, RuntimeDep
from backend.errors import ERROR_RESPONSES, error_body
from backend.staff.auth import login, logout, timeouts_from
from backend.staff.deps import CurrentStaff, StaffPrincipal, require_roles
from backend.staff.models import Role, StaffSession
from backend.staff.reveal import reveal_outcome
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
    staff_view,
)
from backend.staff.service import (
    create_staff,
    get_staff,
    list_staff,
    policy_from,
    set_disabled,
    set_password,
    set_role,
    unlock,
    verify_password,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/staff/api", tags=["staff"], responses=ERROR_RESPONSES)

Admin = Annotated[StaffPrincipal, Depends(require_roles(Role.ADMIN))]
Revealer = Annotated[StaffPrincipal, Depends(require_roles(Role.CLAIMS_OFFICER, Role.SUPERVISOR, Role.ADMIN))]


def _login_failure(code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=401)


@router.post("/auth/login", response_model=LoginOut)
def auth_login(body: LoginIn, db: DbSession, runtime: RuntimeDep, ip: ClientIp,
               now: Now) -> LoginOut | JSONResponse:
    """Password + TOTP code → a new bearer token (every login makes a new one)."""
    out = login(db, cipher=runtime.cipher, username=body.username, password=body.password,
                totp_code=body.totp_code, limits=timeouts_from(runtime.settings.auth),
                policy=policy_from(runtime.settings.auth), ip=ip, now=now)
    if not out.ok or out.token is None or out.staff is None or out.session is None:
        # For monitoring (brute force shows up here too); never the username or what was typed.
        log.warning("staff login refused: %s from %s", out.code, ip)
        return _login_failure(out.code, out.message)
    log.info("staff login: staff id %s from %s", out.staff.id, ip)
    return LoginOut(token=out.token, expires_at=out.session.expires_at,
                    idle_timeout_s=runtime.settings.auth.idle_timeout_s, staff=staff_view(out.staff, now=now))


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
    """Change one's own password (the old one is required); other sessions are revoked."""
    user = get_staff(db, staff_id=staff.id)
    if not verify_password(user.password_hash, body.old_password):
        record_event(db, actor=user.username, action="password_change", object_type="staff",
                     object_id=user.id, ip=staff.ip, result="wrong_password", at=now)
        return JSONResponse(error_body("wrong_password", "原密码不对"), status_code=403)
    set_password(db, staff=user, new_password=body.new_password, actor=user.username, ip=staff.ip,
                 policy=policy_from(runtime.settings.auth), keep_session_id=staff.session_id, now=now)
    return OkOut()


@router.post("/auth/password/expired", response_model=OkOut)
def auth_password_expired(body: ExpiredPasswordChangeIn, db: DbSession, runtime: RuntimeDep,
                          ip: ClientIp, now: Now) -> OkOut | JSONResponse:
    """Change an expired password with both factors (no session needed); then log in again."""
    out = login(db, cipher=runtime.cipher, username=body.username, password=body.password,
                totp_code=body.totp_code, limits=timeouts_from(runtime.settings.auth),
                policy=policy_from(runtime.settings.auth), ip=ip, now=now, create_session=False)
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
                                   ip=admin.ip, now=now), now=now)


@router.post("/staff/{staff_id}/enable", response_model=StaffOut)
def staff_enable(staff_id: RowId, admin: Admin, db: DbSession, now: Now) -> StaffOut:
    """Re-enable an account."""
    return staff_view(set_disabled(db, staff_id=staff_id, disabled=False, actor=admin.username,
                                   ip=admin.ip, now=now), now=now)


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
def reveal(body: RevealIn, staff: Revealer, db: DbSession, cipher: CipherDep,
           now: Now) -> RevealOut | JSONResponse:
    """One private field in clear; needs a reason; every attempt, refused ones too, is audited."""
    out = reveal_outcome(db, cipher=cipher, object_type=body.object_type, object_id=body.object_id,
                         field=body.field, reason=body.reason, actor=staff.username, ip=staff.ip, now=now)
    if out.error is not None:  # answered without raising, so the refusal record is committed
        return JSONResponse(error_body(out.error.code, out.error.message, out.error.detail),
                            status_code=out.error.status_code)
    return RevealOut(object_type=body.object_type, object_id=body.object_id, field=body.field,
                     value=out.value)
