"""A-01 hardening of the staff API: a new account sets its own password and TOTP secret at first
login; logins are throttled per source; old-password guesses lock the account; an admin cannot disable
itself or the last admin."""

from __future__ import annotations

import logging
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.runtime import Runtime
from backend.staff.models import StaffUser
from tests.backend.staff.helpers import PASSWORD, Clock, _auth, _login, _user, assert_error, code_at
from tests.support.servers import dead_redis

NEW_PASSWORD = "Mine#Own2026pw"


def _records(db: Session, action: str, result: str) -> list[AuditRecord]:
    db.expire_all()
    q = select(AuditRecord).where(AuditRecord.action == action, AuditRecord.result == result)
    return list(db.scalars(q.order_by(AuditRecord.seq)))


def test_a01_new_account_sets_own_password_and_totp_at_first_login(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    admin = _auth(client, clock, db, runtime, "admin")
    name = "n" + uuid.uuid4().hex[:8]
    made = client.post("/staff/api/staff", headers=admin,
                       json={"username": name, "role": "agent", "password": PASSWORD})
    assert made.status_code == 201 and made.json()["staff"]["must_change_credentials"] is True
    given_secret = made.json()["totp_secret"]  # what the admin saw

    # The admin's password and secret open no session: only the first-login steps.
    r = _login(client, clock, name, given_secret)
    assert_error(r, 401, "first_login")
    assert "token" not in r.text
    clock.advance(31)
    creds = {"username": name, "password": PASSWORD, "totp_code": code_at(given_secret, clock.now)}
    started = client.post("/staff/api/auth/first-login/start", json=creds)
    assert started.status_code == 200, started.text
    new_secret = started.json()["totp_secret"]
    assert new_secret != given_secret and started.json()["otpauth_uri"].startswith("otpauth://totp/")

    # The second step needs a code of the *new* secret and a password of the owner's own.
    clock.advance(31)
    old_code = dict(creds, totp_code=code_at(given_secret, clock.now), new_password=NEW_PASSWORD)
    assert_error(client.post("/staff/api/auth/first-login/finish", json=old_code), 401, "login_failed")
    same = dict(creds, totp_code=code_at(new_secret, clock.now), new_password=PASSWORD)
    assert_error(client.post("/staff/api/auth/first-login/finish", json=same), 400, "password_reused")
    clock.advance(31)
    done = client.post("/staff/api/auth/first-login/finish",
                       json=dict(creds, totp_code=code_at(new_secret, clock.now), new_password=NEW_PASSWORD))
    assert done.status_code == 200, done.text
    assert done.json()["staff"]["must_change_credentials"] is False
    me = client.get("/staff/api/auth/me", headers={"Authorization": f"Bearer {done.json()['token']}"})
    assert me.status_code == 200 and me.json()["username"] == name

    # What the admin knew no longer works; the owner's own credentials do.
    assert_error(_login(client, clock, name, given_secret, password=NEW_PASSWORD), 401, "login_failed")
    assert_error(_login(client, clock, name, new_secret, password=PASSWORD), 401, "login_failed")
    assert _login(client, clock, name, new_secret, password=NEW_PASSWORD).status_code == 200
    clock.advance(31)
    again = client.post("/staff/api/auth/first-login/start", json={
        "username": name, "password": NEW_PASSWORD, "totp_code": code_at(new_secret, clock.now)})
    assert_error(again, 401, "not_first_login")
    results = [rec.result for rec in _records(db, "totp_enrolment", "started")]
    assert len(results) == 1 and _records(db, "totp_enrolment", "completed")


def test_a01_cli_account_must_also_change_at_first_login(db: Session, runtime: Runtime) -> None:
    from backend.staff.service import create_staff

    enr = create_staff(db, cipher=runtime.cipher, username="u" + uuid.uuid4().hex[:8], role="admin",
                       password=PASSWORD, actor="cli")
    assert enr.staff.must_change_credentials is True  # the default, whoever creates the account


def test_a01_logins_throttled_per_source(client: TestClient, db: Session, runtime: Runtime, clock: Clock,
                                         caplog: pytest.LogCaptureFixture) -> None:
    runtime.settings.auth.login_failures_per_source = 10
    name, secret = _user(db, runtime, "agent")
    for _ in range(12):  # successes from one source never add up (a busy office behind one address)
        assert _login(client, clock, name, secret).status_code == 200
    with caplog.at_level(logging.ERROR):
        answers = [client.post("/staff/api/auth/login", json={
            "username": f"guess{i}", "password": "Wrong#Pass2026", "totp_code": "123456"}) for i in range(30)]
    assert [r.status_code for r in answers] == [401] * 10 + [429] * 20
    assert_error(answers[-1], 429, "login_throttled")
    assert 0 < int(answers[-1].headers["Retry-After"]) <= runtime.settings.auth.login_window_s
    assert caplog.text.count("ALERT login attempts") == 1
    # Even right factors wait for the window to end from that source...
    assert_error(_login(client, clock, name, secret), 429, "login_throttled")
    # ...while another source logs in as usual.
    other = TestClient(client.app, client=("198.51.100.23", 40000), raise_server_exceptions=False)
    assert _login(other, clock, name, secret).status_code == 200
    throttled = _records(db, "login", "throttled")
    assert len(throttled) == 21 and {rec.ip for rec in throttled} == {"testclient"}
    assert len(_records(db, "login", "unknown_user")) == 10  # the refused ones checked no password


def test_a01_login_throttle_counts_from_the_audit_log_when_redis_is_down(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    runtime.settings.auth.login_failures_per_source = 5
    alive = runtime.redis
    runtime.redis = dead_redis()
    try:
        answers = [client.post("/staff/api/auth/login", json={
            "username": f"spray{i}", "password": "Wrong#Pass2026", "totp_code": "123456"}) for i in range(8)]
    finally:
        runtime.redis.close()
        runtime.redis = alive
    assert [r.status_code for r in answers] == [401] * 5 + [429] * 3


def test_a01_old_password_guesses_lock_the_account(client: TestClient, db: Session, runtime: Runtime,
                                                   clock: Clock) -> None:
    name, secret = _user(db, runtime, "agent")
    token = _login(client, clock, name, secret).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    limit = runtime.settings.auth.max_failed_logins
    for i in range(limit):
        r = client.post("/staff/api/auth/password", headers=headers,
                        json={"old_password": f"Guess#{i}Pass99", "new_password": NEW_PASSWORD})
        assert_error(r, 403, "wrong_password")
    assert "锁定" in r.json()["error"]["message"]
    assert_error(client.get("/staff/api/auth/me", headers=headers), 401, "not_logged_in")  # session ended
    assert_error(_login(client, clock, name, secret), 401, "login_failed")  # and the account is locked
    assert len(_records(db, "login_lockout", "locked")) == 1
    assert len(_records(db, "password_change", "wrong_password")) == limit


def test_a01_admin_cannot_disable_itself_or_the_last_admin(client: TestClient, db: Session, runtime: Runtime,
                                                           clock: Clock) -> None:
    for extra in db.scalars(select(StaffUser).where(StaffUser.role == "admin")):
        extra.disabled = True  # this test owns the admins of its (rolled back) database
    db.flush()
    first = _auth(client, clock, db, runtime, "admin")
    me = client.get("/staff/api/auth/me", headers=first).json()
    assert_error(client.post(f"/staff/api/staff/{me['id']}/disable", headers=first), 403, "own_account")
    second = _auth(client, clock, db, runtime, "admin")
    other = client.get("/staff/api/auth/me", headers=second).json()
    assert client.post(f"/staff/api/staff/{other['id']}/disable", headers=first).status_code == 200
    # The disabled admin's session is over; the one left may not be disabled by anyone.
    assert client.get("/staff/api/auth/me", headers=second).status_code == 401
    assert_error(client.post(f"/staff/api/staff/{me['id']}/disable", headers=first), 403, "own_account")
    from backend.staff.service import set_disabled

    with pytest.raises(Exception, match="last_admin"):
        set_disabled(db, staff_id=me["id"], disabled=True, actor="cli")
    assert client.get("/staff/api/auth/me", headers=first).status_code == 200
