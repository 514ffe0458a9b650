"""Shared helpers for staff tests: create accounts, compute TOTP codes at a given time, log in through
the staff API with a settable clock, and check its answers (the one error shape, no private number)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from backend.staff.auth import AuthTimeouts
from backend.staff.service import Enrolment, create_staff
from tests.support.pii import find_pii

PASSWORD = "Chaonan#2026ok"
T0 = dt.datetime(2026, 3, 2, 1, 0, 0, tzinfo=dt.UTC)
LIMITS = AuthTimeouts(idle_timeout_s=900, absolute_timeout_s=8 * 3600, max_failed_logins=5,
                      lockout_s=900)


def make_staff(db: Session, cipher: FieldCipher, username: str = "alice", role: str = "claims_officer",
               *, password: str = PASSWORD, now: dt.datetime = T0,
               first_login_change: bool = False) -> Enrolment:
    """An account whose owner has already set their own password and TOTP secret (unless
    ``first_login_change``: then it is as an admin created it, test_a01_hardening.py)."""
    return create_staff(db, cipher=cipher, username=username, role=role, password=password,
                        display_name="测试员", actor="test", now=now, first_login_change=first_login_change)


def code_at(secret: str, when: dt.datetime) -> str:
    return pyotp.TOTP(secret).at(when)


ROLES = ("agent", "claims_officer", "supervisor", "auditor", "admin")
READERS = {"agent", "claims_officer", "supervisor", "admin"}  # backend.staff.deps.CASE_WORKERS
CLAIM_WRITERS = {"claims_officer", "supervisor", "admin"}  # backend.claims.api.ClaimWriter
SERVICE_WRITERS = READERS  # complaints and home visits: everyone who may read may act


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def _user(db: Session, runtime: Runtime, role: str) -> tuple[str, str]:
    name = f"{role[:5]}{uuid.uuid4().hex[:8]}"
    enr = make_staff(db, runtime.cipher, name, role)
    db.flush()
    return name, enr.totp_secret


def _login(client: TestClient, clock: Clock, name: str, secret: str, password: str = PASSWORD) -> Any:
    clock.advance(31)  # a fresh TOTP step for every login
    return client.post("/staff/api/auth/login",
                       json={"username": name, "password": password, "totp_code": code_at(secret, clock.now)})


def _auth(client: TestClient, clock: Clock, db: Session, runtime: Runtime, role: str) -> dict[str, str]:
    name, secret = _user(db, runtime, role)
    r = _login(client, clock, name, secret)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


class Staff:
    """One logged-in account per role, made on first use (real password + TOTP login)."""

    def __init__(self, client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
        self.client, self.db, self.runtime, self.clock = client, db, runtime, clock
        self._headers: dict[str, dict[str, str]] = {}

    def __call__(self, role: str) -> dict[str, str]:
        if role not in self._headers:
            self._headers[role] = _auth(self.client, self.clock, self.db, self.runtime, role)
        return self._headers[role]

    def username(self, role: str) -> str:
        me = self.client.get("/staff/api/auth/me", headers=self(role))
        return str(me.json()["username"])


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error shape, with a Chinese message, and the expected status (and code)."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}, body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message"]), body
    if code is not None:
        assert body["error"]["code"] == code, body
    assert find_pii(r.text) == []
    error: dict[str, Any] = body["error"]
    return error


def assert_ok(r: httpx.Response) -> dict[str, Any]:
    """200, and no clear ID number, phone or bank card anywhere in the body."""
    assert r.status_code == 200, r.text
    assert find_pii(r.text) == [], find_pii(r.text)
    body: dict[str, Any] = r.json()
    return body


def reads(db: Session, object_type: str, object_id: int, purpose: str | None = None) -> list[AuditRecord]:
    """Audit records of reads of one object (optionally with one purpose)."""
    q = select(AuditRecord).where(AuditRecord.action == "read", AuditRecord.object_type == object_type,
                                  AuditRecord.object_id == str(object_id))
    if purpose is not None:
        q = q.where(AuditRecord.purpose == purpose)
    return list(db.scalars(q))
