"""Staff login with two factors (password + TOTP), lockout, and opaque bearer sessions (A-01).

A failed login never says which factor failed, or whether the account exists, is disabled or is
locked: every such answer is ``login_failed``. Only after both factors are right may the answer be
``password_expired`` or ``first_login`` (a new account: its password and TOTP secret were set by the
admin who created it, so the owner must choose a password and enrol a new TOTP secret first,
``backend.staff.enrolment``). Login failures must be committed even though the request fails, so
:func:`login` returns an outcome instead of raising.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.db import utcnow
from backend.errors import Unauthorized
from backend.security.crypto import CryptoError, FieldCipher
from backend.staff.models import TOTP_PENDING_PURPOSE, TOTP_PURPOSE, StaffSession, StaffUser
from backend.staff.service import (
    HASHER,
    PasswordPolicy,
    normalize_username,
    verify_password,
)
from config.settings import AuthSettings

TOTP_STEP_S = 30
TOTP_WINDOW = 1  # steps either side
# Verifying against this keeps unknown users as slow as known ones.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))

MSG_LOGIN_FAILED = "登录失败：用户名、密码或动态码不对，或账号暂时不能登录。请稍后再试。"
MSG_PASSWORD_EXPIRED = "密码已过期，请先修改密码。"  # noqa: S105  (a message, not a password)
MSG_FIRST_LOGIN = "第一次登录：请先设置自己的密码，并重新绑定动态码。"


@dataclass(frozen=True)
class AuthTimeouts:
    """Session and lockout limits (from ``settings.auth``)."""

    idle_timeout_s: int
    absolute_timeout_s: int
    max_failed_logins: int
    lockout_s: int


def timeouts_from(auth: AuthSettings) -> AuthTimeouts:
    """Read the limits from ``settings.auth``."""
    return AuthTimeouts(
        idle_timeout_s=auth.idle_timeout_s,
        absolute_timeout_s=auth.absolute_timeout_s,
        max_failed_logins=auth.max_failed_logins,
        lockout_s=auth.lockout_s,
    )


@dataclass(frozen=True)
class LoginOutcome:
    """``ok`` with a token (shown once), or a failure ``code`` and Chinese ``message``."""

    ok: bool
    code: str
    message: str
    token: str | None = None
    staff: StaffUser | None = None
    session: StaffSession | None = None


def hash_token(token: str) -> str:
    """SHA-256 (hex) of a bearer token: the only form stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def match_totp_step(*, secret: str, code: str, now: dt.datetime, after_step: int | None) -> int | None:
    """The time step whose code matches (±1 step), newer than ``after_step``; else None (replay)."""
    code = code.strip()
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_STEP_S
    found: int | None = None
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP_S), code):
            found = step
    if found is None or (after_step is not None and found <= after_step):
        return None
    return found


def count_failure(session: Session, *, staff: StaffUser, limits: AuthTimeouts, now: dt.datetime,
                  ip: str | None) -> bool:
    """Count one wrong factor against the account; at the limit lock it (audited). True when locked."""
    staff.failed_logins = (staff.failed_logins or 0) + 1
    staff.updated_at = now
    if staff.failed_logins < limits.max_failed_logins:
        return False
    staff.locked_until = now + dt.timedelta(seconds=limits.lockout_s)
    staff.failed_logins = 0
    record_event(session, actor=staff.username, action="login_lockout", object_type="staff",
                 object_id=staff.id, ip=ip, result="locked", at=now)
    return True


def _fail(session: Session, *, staff: StaffUser | None, limits: AuthTimeouts, now: dt.datetime,
          ip: str | None, result: str, which: str | None, count: bool) -> LoginOutcome:
    actor = staff.username if staff else "anonymous"
    object_id = staff.id if staff else None
    record_event(session, actor=actor, action="login", object_type="staff", object_id=object_id,
                 field=which, ip=ip, result=result, at=now)
    if staff is not None and count:
        count_failure(session, staff=staff, limits=limits, now=now, ip=ip)
    session.flush()
    return LoginOutcome(False, "login_failed", MSG_LOGIN_FAILED)


def login(
    session: Session,
    *,
    cipher: FieldCipher,
    username: str,
    password: str,
    totp_code: str,
    limits: AuthTimeouts,
    policy: PasswordPolicy | None = None,
    ip: str | None = None,
    now: dt.datetime | None = None,
    create_session: bool = True,
    pending_totp: bool = False,
) -> LoginOutcome:
    """Check both factors; on success open a new session (a fresh token every time).

    ``pending_totp``: check the code against the TOTP secret being enrolled at first login instead of
    the current one (``backend.staff.enrolment``).
    """
    now = now or utcnow()
    policy = policy or PasswordPolicy()
    staff = session.scalars(
        select(StaffUser).where(StaffUser.username == normalize_username(username)).with_for_update()
    ).first()
    if staff is None:
        verify_password(_DUMMY_HASH, password)
        return _fail(session, staff=None, limits=limits, now=now, ip=ip, result="unknown_user",
                     which=None, count=False)
    password_ok = verify_password(staff.password_hash, password)
    if staff.disabled:
        return _fail(session, staff=staff, limits=limits, now=now, ip=ip, result="disabled",
                     which=None, count=False)
    if staff.locked_until is not None and staff.locked_until > now:
        return _fail(session, staff=staff, limits=limits, now=now, ip=ip, result="locked",
                     which=None, count=False)
    stored, purpose = ((staff.totp_pending_enc, TOTP_PENDING_PURPOSE) if pending_totp
                       else (staff.totp_secret_enc, TOTP_PURPOSE))
    try:
        secret = cipher.decrypt(stored, purpose=purpose) if stored else None
    except CryptoError:
        secret = None
    # A pending secret has never been used: no step of it to replay yet.
    last_step = None if pending_totp else staff.totp_last_step
    step = match_totp_step(secret=secret, code=totp_code, now=now, after_step=last_step) if secret else None
    if not password_ok or step is None:
        which = ",".join(n for n, ok in (("password", password_ok), ("totp", step is not None)) if not ok)
        return _fail(session, staff=staff, limits=limits, now=now, ip=ip, result="failed",
                     which=which, count=True)
    staff.failed_logins = 0
    staff.locked_until = None
    staff.totp_last_step = step
    staff.updated_at = now
    if HASHER.check_needs_rehash(staff.password_hash):
        staff.password_hash = HASHER.hash(password)
    if staff.must_change_credentials:
        record_event(session, actor=staff.username, action="login", object_type="staff",
                     object_id=staff.id, ip=ip, result="first_login", at=now)
        session.flush()
        return LoginOutcome(False, "first_login", MSG_FIRST_LOGIN, staff=staff)
    if staff.password_changed_at + dt.timedelta(days=policy.max_age_days) <= now:
        record_event(session, actor=staff.username, action="login", object_type="staff",
                     object_id=staff.id, ip=ip, result="password_expired", at=now)
        session.flush()
        return LoginOutcome(False, "password_expired", MSG_PASSWORD_EXPIRED, staff=staff)
    if not create_session:
        session.flush()
        return LoginOutcome(True, "ok", "", staff=staff)
    return open_session(session, staff=staff, limits=limits, ip=ip, now=now)


def open_session(session: Session, *, staff: StaffUser, limits: AuthTimeouts, ip: str | None,
                 now: dt.datetime) -> LoginOutcome:
    """A new session (and its bearer token, shown once) for a staff member whose factors were checked."""
    token = secrets.token_urlsafe(32)
    sess = StaffSession(
        staff_id=staff.id, token_hash=hash_token(token), created_at=now, last_seen_at=now,
        expires_at=now + dt.timedelta(seconds=limits.absolute_timeout_s), revoked_at=None, ip=ip,
    )
    session.add(sess)
    session.flush()
    record_event(session, actor=staff.username, action="login", object_type="staff",
                 object_id=staff.id, ip=ip, result="ok", at=now)
    return LoginOutcome(True, "ok", "", token=token, staff=staff, session=sess)


# Refresh ``last_seen_at`` at most this often (one write per request would be wasteful).
_TOUCH_EVERY = dt.timedelta(seconds=10)


def authenticate(
    session: Session, *, token: str | None, limits: AuthTimeouts, now: dt.datetime | None = None
) -> tuple[StaffUser, StaffSession]:
    """The staff member and session of a bearer token, or ``Unauthorized`` with a clear code."""
    now = now or utcnow()
    if not token:
        raise Unauthorized("not_logged_in", "请先登录")
    sess = session.scalars(
        select(StaffSession).where(StaffSession.token_hash == hash_token(token))
    ).first()
    if sess is None or sess.revoked_at is not None:
        raise Unauthorized("not_logged_in", "请先登录")
    if now >= sess.expires_at:
        raise Unauthorized("session_expired", "登录时间已满，请重新登录")
    if now - sess.last_seen_at > dt.timedelta(seconds=limits.idle_timeout_s):
        raise Unauthorized("session_idle_timeout", "长时间没有操作，已自动退出，请重新登录")
    staff = session.get(StaffUser, sess.staff_id)
    if staff is None or staff.disabled:
        raise Unauthorized("not_logged_in", "请先登录")
    if now - sess.last_seen_at >= _TOUCH_EVERY:
        sess.last_seen_at = now
        session.flush()
    return staff, sess


def logout(session: Session, *, staff: StaffUser, staff_session: StaffSession, ip: str | None = None,
           now: dt.datetime | None = None) -> None:
    """Revoke the session (its token stops working at once)."""
    now = now or utcnow()
    staff_session.revoked_at = now
    record_event(session, actor=staff.username, action="logout", object_type="staff",
                 object_id=staff.id, ip=ip, at=now)
    session.flush()
