"""Local mode only: the demo supervisor and agent (created once, their printed login works) and the
customer chat page. In production mode neither exists."""

from __future__ import annotations

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.app import create_app
from backend.runtime import Runtime
from backend.staff import startup as staff_startup
from backend.staff.models import StaffUser
from config.settings import Settings

DEMO_NAMES = ["demo.agent", "demo.supervisor"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """As ``make run`` starts: demo accounts on (the suite's settings turn them off)."""
    return settings.model_copy(update={"demo_accounts": True})


def _demo_staff(db: Session) -> list[StaffUser]:
    return list(db.scalars(select(StaffUser).where(StaffUser.username.in_(DEMO_NAMES))
                           .order_by(StaffUser.username)))


def test_local_start_creates_the_demo_accounts_once_and_prints_a_working_login(
        client: TestClient, db: Session, runtime: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    made = _demo_staff(db)  # the client's start-up ran the hooks
    assert [(s.username, s.role) for s in made] == [("demo.agent", "agent"),
                                                    ("demo.supervisor", "supervisor")]
    staff_startup.startup(runtime)  # the next start
    again = _demo_staff(db)
    assert [s.id for s in again] == [s.id for s in made]
    printed = capsys.readouterr().out
    assert "/chat/" in printed and "/console/" in printed and staff_startup.DEMO_PASSWORD in printed
    [agent] = [login for login in staff_startup.demo_logins(db, cipher=runtime.cipher)
               if login.username == "demo.agent"]
    assert agent.totp_secret in printed
    r = client.post("/staff/api/auth/login", json={
        "username": "demo.agent", "password": staff_startup.DEMO_PASSWORD,
        "totp_code": pyotp.TOTP(agent.totp_secret).at(runtime.clock())})
    assert r.status_code == 200, r.text
    assert r.json()["token"]


@pytest.fixture
def production(runtime: Runtime, settings: Settings) -> Settings:
    prod = settings.model_copy(update={"mode": "production"})
    runtime.settings = prod
    runtime.close = lambda: None  # type: ignore[method-assign]
    return prod


def test_production_has_no_chat_page_and_no_demo_accounts(
        production: Settings, runtime: Runtime, db: Session, capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app(production, runtime_factory=lambda _s: runtime)
    assert not [route for route in app.routes if getattr(route, "path", "").startswith("/chat")]
    with TestClient(app, raise_server_exceptions=False) as tc:  # a real start: the hooks ran
        for method, path in (("GET", "/chat/"), ("GET", "/chat/static/chat.js"),
                             ("POST", "/chat/api/messages"), ("GET", "/chat/api/messages")):
            r = tc.request(method, path, json={"text": "你好", "client_id": "prod-00001"})
            assert r.status_code == 404, (method, path, r.status_code)
        assert "/chat/" not in tc.get("/openapi.json").text
    assert _demo_staff(db) == []
    assert staff_startup.DEMO_PASSWORD not in capsys.readouterr().out
