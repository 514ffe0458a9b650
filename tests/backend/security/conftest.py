"""A logged-in claims officer (real password + TOTP login) for the reveal and free-text tests."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.runtime import Runtime
from tests.backend.staff.helpers import PASSWORD, T0, code_at, make_staff


@pytest.fixture
def officer(client: TestClient, db: Session, runtime: Runtime) -> dict[str, str]:
    now = [T0]
    runtime.clock = lambda: now[0]
    name = f"off{uuid.uuid4().hex[:8]}"
    secret = make_staff(db, runtime.cipher, name, "claims_officer").totp_secret
    db.flush()
    now[0] += dt.timedelta(seconds=31)
    r = client.post("/staff/api/auth/login",
                    json={"username": name, "password": PASSWORD, "totp_code": code_at(secret, now[0])})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}", "X-User": name}
