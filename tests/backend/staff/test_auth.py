"""A-01: two-factor login, lockout, replay, expiry, sessions (service level, both databases)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.errors import ServiceError, Unauthorized
from backend.security.crypto import FieldCipher
from backend.staff.auth import authenticate, hash_token, login, logout
from backend.staff.models import StaffSession
from backend.staff.service import check_password_policy, set_disabled, set_password, unlock
from tests.backend.staff.helpers import LIMITS, PASSWORD, T0, code_at, make_staff


def _name() -> str:
    return "u" + uuid.uuid4().hex[:10]


def _login(db: Session, cipher: FieldCipher, username: str, *, password: str = PASSWORD,
           code: str, now: dt.datetime = T0):  # type: ignore[no-untyped-def]
    return login(db, cipher=cipher, username=username, password=password, totp_code=code,
                 limits=LIMITS, ip="10.1.1.1", now=now)


@pytest.mark.parametrize("password,problem", [
    ("Short1!", "至少"),
    ("alllowercaseletters", "至少 3 种"),
    ("Xx1!alice2026", "用户名"),
])
def test_a01_password_policy(password: str, problem: str) -> None:
    with pytest.raises(ServiceError) as err:
        check_password_policy(password=password, username="Alice")
    assert err.value.code == "weak_password" and problem in err.value.message
    assert password not in err.value.message


def test_a01_policy_accepts_three_classes() -> None:
    check_password_policy(password="chaonan2026!", username="alice")


def test_a01_login_needs_password_and_totp(db: Session, cipher: FieldCipher) -> None:
    name = _name()
    enr = make_staff(db, cipher, name)
    assert enr.otpauth_uri.startswith("otpauth://totp/") and enr.totp_secret not in enr.staff.totp_secret_enc
    wrong = "000000" if code_at(enr.totp_secret, T0) != "000000" else "111111"
    bad_totp = _login(db, cipher, name, code=wrong)
    bad_pw = _login(db, cipher, name, password=PASSWORD + "x", code=code_at(enr.totp_secret, T0))
    unknown = _login(db, cipher, "nobody" + name, code=code_at(enr.totp_secret, T0))
    # Same answer whichever factor failed, and for an unknown user.
    assert {(o.ok, o.code, o.message) for o in (bad_totp, bad_pw, unknown)} == {
        (False, "login_failed", bad_totp.message)}
    ok = _login(db, cipher, name, code=code_at(enr.totp_secret, T0))
    assert ok.ok and ok.token and ok.session is not None
    assert ok.session.token_hash == hash_token(ok.token) and ok.token not in ok.session.token_hash
    staff, sess = authenticate(db, token=ok.token, limits=LIMITS, now=T0 + dt.timedelta(seconds=5))
    assert staff.username == name and sess.id == ok.session.id


def test_a01_totp_replay_refused(db: Session, cipher: FieldCipher) -> None:
    name = _name()
    enr = make_staff(db, cipher, name)
    code = code_at(enr.totp_secret, T0)
    assert _login(db, cipher, name, code=code).ok
    replay = _login(db, cipher, name, code=code, now=T0 + dt.timedelta(seconds=5))
    assert not replay.ok and replay.code == "login_failed"
    # An older step inside the window is refused too; the next step works.
    assert not _login(db, cipher, name, code=code_at(enr.totp_secret, T0 - dt.timedelta(seconds=30)),
                      now=T0 + dt.timedelta(seconds=6)).ok
    later = T0 + dt.timedelta(seconds=30)
    assert _login(db, cipher, name, code=code_at(enr.totp_secret, later), now=later).ok


def test_a01_totp_window_one_step(db: Session, cipher: FieldCipher) -> None:
    name = _name()
    enr = make_staff(db, cipher, name)
    two_steps_old = code_at(enr.totp_secret, T0 - dt.timedelta(seconds=61))
    assert not _login(db, cipher, name, code=two_steps_old).ok
    one_step_old = code_at(enr.totp_secret, T0 - dt.timedelta(seconds=30))
    assert _login(db, cipher, name, code=one_step_old).ok


def test_a01_brute_force_lockout(db: Session, cipher: FieldCipher) -> None:
    name = _name()
    enr = make_staff(db, cipher, name)
    for i in range(LIMITS.max_failed_logins):
        t = T0 + dt.timedelta(seconds=i)
        assert not _login(db, cipher, name, password=f"Wrong#{i}pass", code=code_at(enr.totp_secret, t),
                          now=t).ok
    assert enr.staff.locked_until is not None
    # Locked: even both right factors are refused, with the same answer.
    t = T0 + dt.timedelta(seconds=60)
    locked = _login(db, cipher, name, code=code_at(enr.totp_secret, t), now=t)
    assert not locked.ok and locked.code == "login_failed"
    actions = db.scalars(select(AuditRecord.result).where(AuditRecord.actor == name,
                                                          AuditRecord.action.like("login%"))).all()
    assert actions.count("failed") == LIMITS.max_failed_logins and "locked" in actions
    # After the lockout period it works again.
    t = T0 + dt.timedelta(seconds=LIMITS.lockout_s + 10)
    assert _login(db, cipher, name, code=code_at(enr.totp_secret, t), now=t).ok


def test_a01_unlock_by_admin(db: Session, cipher: FieldCipher) -> None:
    name = _name()
    enr = make_staff(db, cipher, name)
    for i in range(LIMITS.max_failed_logins):
        _login(db, cipher, name, password="Wrong#pass0", code="123456", now=T0 + dt.timedelta(seconds=i))
    unlock(db, staff_id=enr.staff.id, actor="admin", now=T0 + dt.timedelta(seconds=20))
    t = T0 + dt.timedelta(seconds=30)
    assert _login(db, cipher, name, code=code_at(enr.totp_secret, t), now=t).ok


def test_a01_failures_of_either_factor_count(db: Session, cipher: FieldCipher) -> None:
    name = _name()
    enr = make_staff(db, cipher, name)
    for i in range(LIMITS.max_failed_logins):
        t = T0 + dt.timedelta(seconds=i)
        if i % 2:
            _login(db, cipher, name, password="Wrong#pass0", code=code_at(enr.totp_secret, t), now=t)
        else:
            _login(db, cipher, name, code="999999" if code_at(enr.totp_secret, t) != "999999" else "1",
                   now=t)
    assert enr.staff.locked_until is not None


def test_a01_disabled_user_cannot_login(db: Session, cipher: FieldCipher) -> None:
    name = _name()
    enr = make_staff(db, cipher, name)
    ok = _login(db, cipher, name, code=code_at(enr.totp_secret, T0))
    assert ok.ok
    set_disabled(db, staff_id=enr.staff.id, disabled=True, actor="admin", now=T0)
    with pytest.raises(Unauthorized):
        authenticate(db, token=ok.token, limits=LIMITS, now=T0 + dt.timedelta(seconds=1))
    t = T0 + dt.timedelta(seconds=30)
    out = _login(db, cipher, name, code=code_at(enr.totp_secret, t), now=t)
    assert not out.ok and out.code == "login_failed"


def test_a01_password_expired_after_max_age(db: Session, cipher: FieldCipher) -> None:
    name = _name()
    enr = make_staff(db, cipher, name)
    t = T0 + dt.timedelta(days=90, seconds=1)
    wrong = _login(db, cipher, name, password="Wrong#pass0", code=code_at(enr.totp_secret, t), now=t)
    assert wrong.code == "login_failed"  # expiry is never told before both factors are right
    out = _login(db, cipher, name, code=code_at(enr.totp_secret, t), now=t)
    assert not out.ok and out.code == "password_expired" and out.token is None
    set_password(db, staff=enr.staff, new_password="Fresh#Pass2026", actor=name, now=t)
    t2 = t + dt.timedelta(seconds=30)
    assert _login(db, cipher, name, password="Fresh#Pass2026", code=code_at(enr.totp_secret, t2), now=t2).ok


def test_a01_idle_and_absolute_timeouts(db: Session, cipher: FieldCipher) -> None:
    name = _name()
    enr = make_staff(db, cipher, name)
    token = _login(db, cipher, name, code=code_at(enr.totp_secret, T0)).token
    with pytest.raises(Unauthorized) as err:
        authenticate(db, token=token, limits=LIMITS, now=T0 + dt.timedelta(seconds=LIMITS.idle_timeout_s + 1))
    assert err.value.code == "session_idle_timeout"
    # Kept alive by activity, it still ends at the absolute limit.
    t = T0
    while t < T0 + dt.timedelta(seconds=LIMITS.absolute_timeout_s - 600):
        t += dt.timedelta(seconds=600)
        authenticate(db, token=token, limits=LIMITS, now=t)
    with pytest.raises(Unauthorized) as err:
        authenticate(db, token=token, limits=LIMITS, now=T0 + dt.timedelta(seconds=LIMITS.absolute_timeout_s))
    assert err.value.code == "session_expired"


def test_a01_logout_revokes_and_new_login_new_token(db: Session, cipher: FieldCipher) -> None:
    name = _name()
    enr = make_staff(db, cipher, name)
    first = _login(db, cipher, name, code=code_at(enr.totp_secret, T0))
    t = T0 + dt.timedelta(seconds=30)
    second = _login(db, cipher, name, code=code_at(enr.totp_secret, t), now=t)
    assert first.token != second.token
    staff, sess = authenticate(db, token=first.token, limits=LIMITS, now=t)
    logout(db, staff=staff, staff_session=sess, now=t)
    with pytest.raises(Unauthorized) as err:
        authenticate(db, token=first.token, limits=LIMITS, now=t)
    assert err.value.code == "not_logged_in"
    assert authenticate(db, token=second.token, limits=LIMITS, now=t)[1].id != sess.id
    assert db.scalar(select(StaffSession.revoked_at).where(StaffSession.id == sess.id)) is not None
