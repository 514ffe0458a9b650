"""Staff accounts: creation with a TOTP secret, password policy (等保 level 3), disable, unlock, roles.

Passwords are hashed with argon2id; the TOTP secret is stored encrypted (FieldCipher, purpose
``staff.totp_secret``). Every change is written to the audit log in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.db import utcnow
from backend.errors import Conflict, NotFound, ServiceError
from backend.security.crypto import FieldCipher
from backend.staff.models import TOTP_PURPOSE, Role, StaffSession, StaffUser

# Policy defaults (等保 2.0 level 3); the settings may override them (see ``policy_from``).
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128
PASSWORD_MIN_CLASSES = 3
PASSWORD_MAX_AGE_DAYS = 90

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{2,63}$")
HASHER = PasswordHasher()  # argon2id, library defaults (stateless, safe to share)


@dataclass(frozen=True)
class PasswordPolicy:
    """The numbers of the password policy."""

    min_length: int = PASSWORD_MIN_LENGTH
    min_classes: int = PASSWORD_MIN_CLASSES
    max_age_days: int = PASSWORD_MAX_AGE_DAYS


def policy_from(auth_settings: object) -> PasswordPolicy:
    """The policy, taking ``password_min_length``/``password_max_age_days`` from settings if present."""
    return PasswordPolicy(
        min_length=int(getattr(auth_settings, "password_min_length", PASSWORD_MIN_LENGTH)),
        min_classes=int(getattr(auth_settings, "password_min_classes", PASSWORD_MIN_CLASSES)),
        max_age_days=int(getattr(auth_settings, "password_max_age_days", PASSWORD_MAX_AGE_DAYS)),
    )


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared in lower case."""
    return username.strip().lower()


def check_password_policy(*, password: str, username: str, policy: PasswordPolicy | None = None) -> None:
    """Raise ``weak_password`` unless the password meets the policy (never echoes the password)."""
    policy = policy or PasswordPolicy()
    problems: list[str] = []
    if len(password) < policy.min_length:
        problems.append(f"至少 {policy.min_length} 位")
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(f"最多 {PASSWORD_MAX_LENGTH} 位")
    classes = sum(
        1 for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]") if re.search(pattern, password)
    )
    if classes < policy.min_classes:
        problems.append(f"需包含大写字母、小写字母、数字、符号中的至少 {policy.min_classes} 种")
    name = normalize_username(username)
    if name and name in password.lower():
        problems.append("不能包含用户名")
    if problems:
        raise ServiceError("weak_password", "密码不符合要求：" + "；".join(problems), detail=problems)


def hash_password(password: str) -> str:
    """An argon2id hash."""
    return HASHER.hash(password)


@dataclass(frozen=True)
class Enrolment:
    """A new account with its TOTP secret, shown once."""

    staff: StaffUser
    totp_secret: str
    otpauth_uri: str


def new_totp(*, username: str, issuer: str) -> tuple[str, str]:
    """A new random TOTP secret and its otpauth URI (for an authenticator app)."""
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)
    return secret, uri


def create_staff(
    session: Session,
    *,
    cipher: FieldCipher,
    username: str,
    role: str,
    password: str,
    display_name: str | None = None,
    actor: str,
    ip: str | None = None,
    issuer: str = "staff",
    policy: PasswordPolicy | None = None,
    now: dt.datetime | None = None,
    first_login_change: bool = True,
) -> Enrolment:
    """Create an account (password policy enforced) and return its TOTP enrolment once.

    The creator knows this password and TOTP secret, so by default the account must set its own and
    enrol a new secret before its first session (``first_login_change``, A-01).
    """
    now = now or utcnow()
    name = normalize_username(username)
    if not USERNAME_RE.match(name):
        raise ServiceError("invalid_username", "用户名只能用小写字母、数字和 . _ -，3 到 64 位，字母开头")
    try:
        role_value = Role(role).value
    except ValueError:
        raise ServiceError("invalid_role", "没有这个角色", detail=[r.value for r in Role]) from None
    check_password_policy(password=password, username=name, policy=policy)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == name)) is not None:
        raise Conflict("username_taken", "用户名已被使用")
    secret, uri = new_totp(username=name, issuer=issuer)
    staff = StaffUser(
        username=name,
        display_name=(display_name or name).strip()[:100],
        role=role_value,
        password_hash=hash_password(password),
        password_changed_at=now,
        totp_secret_enc=cipher.encrypt(secret, purpose=TOTP_PURPOSE),
        totp_last_step=None,
        failed_logins=0,
        locked_until=None,
        disabled=False,
        must_change_credentials=first_login_change,
        totp_pending_enc=None,
        created_at=now,
        updated_at=now,
    )
    session.add(staff)
    session.flush()
    record_event(session, actor=actor, action="staff_create", object_type="staff", object_id=staff.id,
                 field="role", purpose=role_value, ip=ip, at=now)
    return Enrolment(staff=staff, totp_secret=secret, otpauth_uri=uri)


def get_staff(session: Session, *, staff_id: int) -> StaffUser:
    """One account, or ``NotFound``."""
    staff = session.get(StaffUser, staff_id)
    if staff is None:
        raise NotFound("unknown_staff", "没有这个员工账号")
    return staff


def list_staff(session: Session) -> list[StaffUser]:
    """Every account, by username."""
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)).all())


def revoke_sessions(
    session: Session, *, staff_id: int, now: dt.datetime, except_session_id: int | None = None
) -> int:
    """Revoke every open session of a staff member (optionally but one); returns how many."""
    stmt = (
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    if except_session_id is not None:
        stmt = stmt.where(StaffSession.id != except_session_id)
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


def set_disabled(
    session: Session, *, staff_id: int, disabled: bool, actor: str, actor_id: int | None = None,
    ip: str | None = None, now: dt.datetime | None = None,
) -> StaffUser:
    """Disable (revoking every session) or re-enable an account; never one's own, nor the last admin."""
    now = now or utcnow()
    staff = get_staff(session, staff_id=staff_id)
    if disabled and actor_id is not None and staff.id == actor_id:
        raise ServiceError("own_account", "不能停用自己的账号", status_code=403)
    if disabled and staff.role == Role.ADMIN and not staff.disabled:
        # Locked (PostgreSQL): two admins disabling each other at once cannot both succeed.
        others = session.scalars(
            select(StaffUser.id).where(StaffUser.role == Role.ADMIN.value, StaffUser.disabled.is_(False),
                                       StaffUser.id != staff.id).with_for_update()).all()
        if not others:
            raise Conflict("last_admin", "这是最后一个管理员账号，不能停用")
    staff.disabled = disabled
    staff.updated_at = now
    if disabled:
        revoke_sessions(session, staff_id=staff.id, now=now)
    record_event(session, actor=actor, action="staff_disable" if disabled else "staff_enable",
                 object_type="staff", object_id=staff.id, ip=ip, at=now)
    session.flush()
    return staff


def unlock(
    session: Session, *, staff_id: int, actor: str, ip: str | None = None, now: dt.datetime | None = None
) -> StaffUser:
    """Clear a lockout and the failure counter."""
    now = now or utcnow()
    staff = get_staff(session, staff_id=staff_id)
    staff.locked_until = None
    staff.failed_logins = 0
    staff.updated_at = now
    record_event(session, actor=actor, action="staff_unlock", object_type="staff", object_id=staff.id,
                 ip=ip, at=now)
    session.flush()
    return staff


def set_role(
    session: Session, *, staff_id: int, role: str, actor: str, actor_id: int | None = None,
    ip: str | None = None, now: dt.datetime | None = None,
) -> StaffUser:
    """Change an account's role (a privilege change; audited with old → new)."""
    now = now or utcnow()
    try:
        role_value = Role(role).value
    except ValueError:
        raise ServiceError("invalid_role", "没有这个角色", detail=[r.value for r in Role]) from None
    staff = get_staff(session, staff_id=staff_id)
    if actor_id is not None and staff.id == actor_id:
        raise ServiceError("own_role", "不能修改自己的角色", status_code=403)
    old = staff.role
    staff.role = role_value
    staff.updated_at = now
    record_event(session, actor=actor, action="privilege_change", object_type="staff",
                 object_id=staff.id, field="role", purpose=f"{old}->{role_value}", ip=ip, at=now)
    session.flush()
    return staff


def set_password(
    session: Session, *, staff: StaffUser, new_password: str, actor: str, ip: str | None = None,
    policy: PasswordPolicy | None = None, keep_session_id: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Store a new password (policy enforced, must differ) and revoke the other sessions."""
    now = now or utcnow()
    check_password_policy(password=new_password, username=staff.username, policy=policy)
    if verify_password(staff.password_hash, new_password):
        raise ServiceError("password_reused", "新密码不能和旧密码相同")
    staff.password_hash = hash_password(new_password)
    staff.password_changed_at = now
    staff.updated_at = now
    revoke_sessions(session, staff_id=staff.id, now=now, except_session_id=keep_session_id)
    record_event(session, actor=actor, action="password_change", object_type="staff",
                 object_id=staff.id, ip=ip, at=now)
    session.flush()


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches the argon2 hash."""
    try:
        return bool(HASHER.verify(password_hash, password))
    except Exception:  # VerifyMismatchError, InvalidHashError, VerificationError
        return False
