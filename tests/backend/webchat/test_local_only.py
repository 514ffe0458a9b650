"""Local mode only: the demo supervisor and agent (created once, their printed login works) and the
customer chat page. In production mode neither exists."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.app import create_app
from backend.db import session_scope
from backend.runtime import Runtime, build_runtime
from backend.staff import startup as staff_startup
from backend.staff.models import StaffUser
from config.settings import REPO_ROOT, Settings

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
        # The web chat page's API is not documented (the mini-program's own /mp/v1/chat/ is).
        assert not [p for p in tc.get("/openapi.json").json()["paths"] if p.startswith("/chat")]
    assert _demo_staff(db) == []
    assert staff_startup.DEMO_PASSWORD not in capsys.readouterr().out


def _cli(args: list[str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CS_")}
    env.update({"CS_VAR_DIR": str(var_dir), "CS_RUN_WORKER": "false"})
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_staff_demo_codes_prints_the_current_codes_of_the_demo_accounts(tmp_path: Path) -> None:
    var = tmp_path / "var"
    before = _cli(["staff", "demo-codes"], var)
    assert before.returncode == 1 and "还没有演示账号" in before.stderr
    runtime = build_runtime(Settings(mode="local", var_dir=var, run_worker=False))
    try:
        staff_startup.startup(runtime)  # as `make run` starts
        with session_scope(runtime.sessions) as db:
            logins = staff_startup.demo_logins(db, cipher=runtime.cipher)
            secrets = {d.username: d.totp_secret for d in logins}
    finally:
        runtime.close()
    out = _cli(["staff", "demo-codes"], var)
    assert out.returncode == 0, out.stderr
    for name, secret in secrets.items():
        line = next(line for line in out.stdout.splitlines() if line.startswith(name))
        code = re.search(r"code (\d{6})", line)
        assert code and pyotp.TOTP(secret).verify(code.group(1), valid_window=1), line
