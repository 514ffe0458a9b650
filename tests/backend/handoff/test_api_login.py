"""Console cookie login: two factors, HttpOnly SameSite=Strict cookie, CSRF bound to the session,
a new session every login (A-01, A-05)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.handoff.console_auth import COOKIE, CSRF_HEADER
from backend.runtime import Runtime
from tests.backend.staff.helpers import PASSWORD, Clock, assert_error, code_at, make_staff


def _account(db: Session, runtime: Runtime, role: str = "agent") -> tuple[str, str]:
    name = f"{role[:5]}{uuid.uuid4().hex[:8]}"
    enr = make_staff(db, runtime.cipher, name, role)
    db.flush()
    return name, enr.totp_secret


def _login(client: TestClient, clock: Clock, name: str, secret: str, *, totp: str | None = None):  # type: ignore[no-untyped-def]
    clock.advance(31)
    return client.post("/api/console/login", json={"username": name, "password": PASSWORD,
                                                    "totp": totp or code_at(secret, clock.now)})


def test_a05_login_sets_a_strict_httponly_cookie_and_returns_a_csrf_token(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    name, secret = _account(db, runtime)
    r = _login(client, clock, name, secret)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["staff"]["username"] == name and body["staff"]["role"] == "agent"
    assert len(body["csrf_token"]) >= 32
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/" in lowered
    assert "secure" not in lowered  # local mode serves plain http
    assert body["csrf_token"] not in cookie
    me = client.get("/api/console/me")
    assert me.status_code == 200 and me.json()["staff"]["username"] == name
    assert "frame-ancestors 'none'" in me.headers["content-security-policy"]


def test_a05_cookie_is_secure_in_production_mode(client: TestClient, db: Session, runtime: Runtime,
                                                 clock: Clock) -> None:
    name, secret = _account(db, runtime)
    runtime.settings = runtime.settings.model_copy(update={"mode": "production"})
    r = _login(client, clock, name, secret)
    assert r.status_code == 200, r.text
    assert "secure" in r.headers["set-cookie"].lower()


def test_a05_state_changes_need_the_sessions_csrf_token(client: TestClient, db: Session, runtime: Runtime,
                                                        clock: Clock) -> None:
    other_name, other_secret = _account(db, runtime)
    other = _login(client, clock, other_name, other_secret).json()["csrf_token"]
    client.cookies.clear()
    name, secret = _account(db, runtime)
    mine = _login(client, clock, name, secret).json()["csrf_token"]
    assert_error(client.post("/api/console/logout"), 403, "csrf_failed")
    assert_error(client.post("/api/console/logout", headers={CSRF_HEADER: "x" * 64}), 403, "csrf_failed")
    # a token of another session does not fit this one
    assert_error(client.post("/api/console/logout", headers={CSRF_HEADER: other}), 403, "csrf_failed")
    assert client.get("/api/console/me").status_code == 200  # GET needs no token
    r = client.post("/api/console/logout", headers={CSRF_HEADER: mine})
    assert r.status_code == 200, r.text
    assert_error(client.get("/api/console/me"), 401, "not_logged_in")


def test_a05_every_login_rotates_the_session_and_revokes_the_presented_one(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    name, secret = _account(db, runtime)
    assert _login(client, clock, name, secret).status_code == 200
    first = client.cookies[COOKIE]
    assert _login(client, clock, name, secret).status_code == 200
    second = client.cookies[COOKIE]
    assert first != second
    client.cookies.clear()
    client.cookies.set(COOKIE, first)
    assert_error(client.get("/api/console/me"), 401, "not_logged_in")
    client.cookies.set(COOKIE, second)
    assert client.get("/api/console/me").status_code == 200


def test_a05_a_planted_cookie_never_becomes_a_session(client: TestClient, db: Session, runtime: Runtime,
                                                      clock: Clock) -> None:
    name, secret = _account(db, runtime)
    client.cookies.set(COOKIE, "attacker-chosen-value")
    r = _login(client, clock, name, secret)
    assert r.status_code == 200
    assert r.cookies[COOKIE] != "attacker-chosen-value"
    client.cookies.clear()
    client.cookies.set(COOKIE, "attacker-chosen-value")
    assert_error(client.get("/api/console/me"), 401, "not_logged_in")


def test_a01_console_login_needs_both_factors_and_times_out_when_idle(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    name, secret = _account(db, runtime)
    r = _login(client, clock, name, secret, totp="000000")
    assert_error(r, 401, "login_failed")
    assert COOKIE not in r.headers.get("set-cookie", "")
    assert _login(client, clock, name, secret).status_code == 200
    assert client.get("/api/console/me").status_code == 200
    clock.advance(runtime.settings.auth.idle_timeout_s + 1)
    assert_error(client.get("/api/console/me"), 401, "session_idle_timeout")


def test_a01_an_account_an_admin_just_created_cannot_open_the_console_before_its_first_login_change(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    name = f"new{uuid.uuid4().hex[:8]}"
    given = make_staff(db, runtime.cipher, name, "agent", now=clock.now, first_login_change=True)
    db.flush()
    r = _login(client, clock, name, given.totp_secret)  # the password and secret the admin knows
    assert_error(r, 401, "first_login")
    assert COOKIE not in r.headers.get("set-cookie", "") and "csrf_token" not in r.text
    assert_error(client.get("/api/console/me"), 401, "not_logged_in")


def test_a02_roles_outside_the_console_are_refused(client: TestClient, db: Session, runtime: Runtime,
                                                   clock: Clock) -> None:
    name, secret = _account(db, runtime, "auditor")
    assert _login(client, clock, name, secret).status_code == 200
    assert_error(client.get("/api/console/canned"), 403, "forbidden")


def test_canned_replies_and_dispositions_come_from_config(client: TestClient, db: Session, runtime: Runtime,
                                                          clock: Clock) -> None:
    name, secret = _account(db, runtime)
    assert_error(client.get("/api/console/canned"), 401, "not_logged_in")
    assert _login(client, clock, name, secret).status_code == 200
    body = client.get("/api/console/canned").json()
    assert {"greet", "hospital_120"} <= {c["key"] for c in body["items"]}
    assert "resolved" in {d["key"] for d in body["dispositions"]}
    assert all(c["text"] for c in body["items"])


def test_bearer_staff_api_still_works(client: TestClient, db: Session, runtime: Runtime,
                                      clock: Clock) -> None:
    name, secret = _account(db, runtime)
    clock.advance(31)
    r = client.post("/staff/api/auth/login",
                    json={"username": name, "password": PASSWORD, "totp_code": code_at(secret, clock.now)})
    assert r.status_code == 200
    me = client.get("/staff/api/auth/me", headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert me.status_code == 200
    # the bearer token is not a console cookie session's CSRF pass
    assert_error(client.get("/api/console/me"), 401, "not_logged_in")


def test_a01_console_brute_force_locks_the_account(client: TestClient, db: Session, runtime: Runtime,
                                                   clock: Clock) -> None:
    name, secret = _account(db, runtime)
    for _ in range(runtime.settings.auth.max_failed_logins):
        clock.advance(1)
        r = client.post("/api/console/login", json={"username": name, "password": "wrong-Password#1",
                                                    "totp": code_at(secret, clock.now)})
        assert r.status_code in (401, 429)
    assert_error(_login(client, clock, name, secret), 401, "login_failed")  # locked: right factors refused
    assert client.get("/api/console/me").status_code == 401


def test_dispositions_of_the_config_are_the_services() -> None:
    from backend.handoff.api import console_config
    from backend.handoff.console import DISPOSITIONS

    assert [d["key"] for d in console_config()["dispositions"]] == list(DISPOSITIONS)
