"""Staff HTTP API (``/staff/api``): login, accounts, reveal, audit; the case routes are in ``cases_api``.

Login failures are answered with a plain 401 response (not an exception) so that the failure
counter and the audit record are committed with the request.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from backend.audit.service import list_events, record_event, verify_chain
from backend.deps import CipherDep, DbSession, RuntimeDep
from backend.errors import error_body
from backend.security.masking import scrub_text
from backend.staff import cases_api
from backend.staff.auth import login, logout, timeouts_from
from backend.staff.deps import ClientIp, CurrentStaff, Now, RowId, StaffPrincipal, require_roles
from backend.staff.models import Role, StaffSession
from backend.staff.reveal import reveal_outcome
from backend.staff.schemas import (
    ExpiredPasswordChangeIn,
    LoginIn,
    PasswordChangeIn,
    RevealIn,
    RoleIn,
    StaffCreateIn,
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
router = APIRouter(prefix="/staff/api", tags=["staff"])

Admin = Annotated[StaffPrincipal, Depends(require_roles(Role.ADMIN))]
Auditor = Annotated[StaffPrincipal, Depends(require_roles(Role.AUDITOR))]
Revealer = Annotated[StaffPrincipal, Depends(require_roles(Role.CLAIMS_OFFICER, Role.SUPERVISOR, Role.ADMIN))]


def _login_failure(code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=401)


@router.post("/auth/login")
def auth_login(body: LoginIn, db: DbSession, runtime: RuntimeDep, ip: ClientIp, now: Now) -> Any:
    """Password + TOTP code → a new bearer token (every login makes a new one)."""
    out = login(db, cipher=runtime.cipher, username=body.username, password=body.password,
                totp_code=body.totp_code, limits=timeouts_from(runtime.settings.auth),
                policy=policy_from(runtime.settings.auth), ip=ip, now=now)
    if not out.ok or out.token is None or out.staff is None or out.session is None:
        # For monitoring (brute force shows up here too); never the username or what was typed.
        log.warning("staff login refused: %s from %s", out.code, ip)
        return _login_failure(out.code, out.message)
    log.info("staff login: staff id %s from %s", out.staff.id, ip)
    return {
        "token": out.token, "token_type": "bearer", "expires_at": out.session.expires_at,
        "idle_timeout_s": runtime.settings.auth.idle_timeout_s,
        "staff": staff_view(out.staff, now=now),
    }


@router.post("/auth/logout")
def auth_logout(staff: CurrentStaff, db: DbSession, now: Now) -> dict[str, bool]:
    """End this session; its token stops working at once."""
    user = get_staff(db, staff_id=staff.id)
    sess = db.get(StaffSession, staff.session_id)
    assert sess is not None
    logout(db, staff=user, staff_session=sess, ip=staff.ip, now=now)
    return {"ok": True}


@router.get("/auth/me")
def auth_me(staff: CurrentStaff, db: DbSession, now: Now) -> dict[str, Any]:
    """Who is logged in."""
    return staff_view(get_staff(db, staff_id=staff.id), now=now)


@router.post("/auth/password")
def auth_password(body: PasswordChangeIn, staff: CurrentStaff, db: DbSession, runtime: RuntimeDep,
                  now: Now) -> Any:
    """Change one's own password (the old one is required); other sessions are revoked."""
    user = get_staff(db, staff_id=staff.id)
    if not verify_password(user.password_hash, body.old_password):
        record_event(db, actor=user.username, action="password_change", object_type="staff",
                     object_id=user.id, ip=staff.ip, result="wrong_password", at=now)
        return JSONResponse(error_body("wrong_password", "原密码不对"), status_code=403)
    set_password(db, staff=user, new_password=body.new_password, actor=user.username, ip=staff.ip,
                 policy=policy_from(runtime.settings.auth), keep_session_id=staff.session_id, now=now)
    return {"ok": True}


@router.post("/auth/password/expired")
def auth_password_expired(body: ExpiredPasswordChangeIn, db: DbSession, runtime: RuntimeDep,
                          ip: ClientIp, now: Now) -> Any:
    """Change an expired password with both factors (no session needed); then log in again."""
    out = login(db, cipher=runtime.cipher, username=body.username, password=body.password,
                totp_code=body.totp_code, limits=timeouts_from(runtime.settings.auth),
                policy=policy_from(runtime.settings.auth), ip=ip, now=now, create_session=False)
    if out.staff is None or not (out.ok or out.code == "password_expired"):
        return _login_failure(out.code, out.message)
    set_password(db, staff=out.staff, new_password=body.new_password, actor=out.staff.username, ip=ip,
                 policy=policy_from(runtime.settings.auth), now=now)
    return {"ok": True}


@router.get("/staff")
def staff_list(admin: Admin, db: DbSession, now: Now) -> dict[str, Any]:
    """Every staff account (admins only)."""
    return {"items": [staff_view(s, now=now) for s in list_staff(db)]}


@router.post("/staff", status_code=201)
def staff_create(body: StaffCreateIn, admin: Admin, db: DbSession, runtime: RuntimeDep,
                 now: Now) -> dict[str, Any]:
    """Create an account; the TOTP secret and otpauth URI are in this response only."""
    enr = create_staff(db, cipher=runtime.cipher, username=body.username, role=body.role,
                       password=body.password, display_name=body.display_name, actor=admin.username,
                       ip=admin.ip, issuer=runtime.settings.auth.totp_issuer,
                       policy=policy_from(runtime.settings.auth), now=now)
    return {"staff": staff_view(enr.staff, now=now), "totp_secret": enr.totp_secret,
            "otpauth_uri": enr.otpauth_uri}


@router.post("/staff/{staff_id}/disable")
def staff_disable(staff_id: RowId, admin: Admin, db: DbSession, now: Now) -> dict[str, Any]:
    """Disable an account and end its sessions."""
    return staff_view(set_disabled(db, staff_id=staff_id, disabled=True, actor=admin.username,
                                   ip=admin.ip, now=now), now=now)


@router.post("/staff/{staff_id}/enable")
def staff_enable(staff_id: RowId, admin: Admin, db: DbSession, now: Now) -> dict[str, Any]:
    """Re-enable an account."""
    return staff_view(set_disabled(db, staff_id=staff_id, disabled=False, actor=admin.username,
                                   ip=admin.ip, now=now), now=now)


@router.post("/staff/{staff_id}/unlock")
def staff_unlock(staff_id: RowId, admin: Admin, db: DbSession, now: Now) -> dict[str, Any]:
    """Lift a lockout after failed logins."""
    return staff_view(unlock(db, staff_id=staff_id, actor=admin.username, ip=admin.ip, now=now), now=now)


@router.post("/staff/{staff_id}/role")
def staff_role(staff_id: RowId, body: RoleIn, admin: Admin, db: DbSession, now: Now) -> dict[str, Any]:
    """Change an account's role (privilege change, audited)."""
    user = set_role(db, staff_id=staff_id, role=body.role, actor=admin.username, actor_id=admin.id,
                    ip=admin.ip, now=now)
    return staff_view(user, now=now)


@router.post("/reveal")
def reveal(body: RevealIn, staff: Revealer, db: DbSession, cipher: CipherDep, now: Now) -> Any:
    """One private field in clear; needs a reason; every attempt, refused ones too, is audited."""
    out = reveal_outcome(db, cipher=cipher, object_type=body.object_type, object_id=body.object_id,
                         field=body.field, reason=body.reason, actor=staff.username, ip=staff.ip, now=now)
    if out.error is not None:  # answered without raising, so the refusal record is committed
        return JSONResponse(error_body(out.error.code, out.error.message, out.error.detail),
                            status_code=out.error.status_code)
    return {"object_type": body.object_type, "object_id": body.object_id, "field": body.field,
            "value": out.value}


@router.get("/audit/verify")
def audit_verify(auditor: Auditor, db: DbSession, now: Now) -> dict[str, Any]:
    """Walk the audit hash chain (auditors only)."""
    report = verify_chain(db)
    record_event(db, actor=auditor.username, action="audit_verify", ip=auditor.ip,
                 result="ok" if report.ok else "broken", at=now)
    return {"ok": report.ok, "checked": report.checked, "broken_seq": report.broken_seq,
            "broken_id": report.broken_id, "reason": report.reason}


@router.get("/audit/events")
def audit_events(
    auditor: Auditor, db: DbSession, now: Now,
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    before_seq: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Audit records, newest first (auditors only; reading the log is itself audited).

    A number typed into a free-text purpose (e.g. a reveal reason) is shown masked.
    """
    rows = list_events(db, object_type=object_type, object_id=object_id, actor=actor, action=action,
                       before_seq=before_seq, limit=limit)
    record_event(db, actor=auditor.username, action="audit_read", ip=auditor.ip, at=now)
    return {"items": [
        {"seq": r.seq, "at": r.at, "actor": r.actor, "ip": r.ip, "action": r.action,
         "object_type": r.object_type, "object_id": r.object_id, "field": r.field,
         "purpose": scrub_text(r.purpose) if r.purpose else r.purpose,
         "result": r.result, "hash": r.hash} for r in rows
    ]}


router.include_router(cases_api.router)
