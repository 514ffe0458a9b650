"""``python -m backend staff create`` and ``audit verify`` as real subprocesses (SQLite + embedded Redis)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import create_engine, select

from backend.migrate import MIGRATIONS_DIR
from backend.staff.models import StaffUser
from config.settings import REPO_ROOT


def _run(args: list[str], var_dir: Path, password: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CS_")}
    env.update({"CS_VAR_DIR": str(var_dir), "CS_RUN_WORKER": "false"})
    if password is not None:
        env["CS_NEW_STAFF_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    var = tmp_path / "var"
    var.mkdir()
    if not any(MIGRATIONS_DIR.joinpath("versions").glob("*.py")):
        # No migration yet (the lead generates them at integration): make the schema from the models.
        from backend.model_registry import metadata

        engine = create_engine(f"sqlite:///{var / 'service.sqlite3'}")
        metadata.create_all(engine)
        engine.dispose()
    return var


def test_a01_staff_create_cli(var_dir: Path) -> None:
    password = "First#Admin2026"
    out = _run(["staff", "create", "Boss", "--role", "admin", "--display-name", "管理员"], var_dir, password)
    assert out.returncode == 0, out.stderr
    secret = re.search(r"TOTP secret: ([A-Z2-7]+)", out.stdout)
    assert secret and "otpauth://totp/" in out.stdout
    assert password not in out.stdout + out.stderr
    engine = create_engine(f"sqlite:///{var_dir / 'service.sqlite3'}")
    with engine.connect() as conn:
        row = conn.execute(select(StaffUser.username, StaffUser.role, StaffUser.password_hash,
                                  StaffUser.totp_secret_enc)).one()
    engine.dispose()
    assert row.username == "boss" and row.role == "admin" and row.password_hash.startswith("$argon2id$")
    assert secret.group(1) not in row.totp_secret_enc
    assert pyotp.TOTP(secret.group(1)).now().isdigit()
    again = _run(["staff", "create", "boss", "--role", "admin"], var_dir, password)
    assert again.returncode == 1 and "已被使用" in again.stderr
    verify = _run(["audit", "verify"], var_dir, None)  # no worker ran: no signed checkpoint yet
    assert verify.returncode == 1 and "no signed checkpoint" in verify.stdout
    assert _run(["audit", "checkpoint"], var_dir, None).returncode == 0
    verify = _run(["audit", "verify"], var_dir, None)
    assert verify.returncode == 0 and "OK: 1 records" in verify.stdout


def test_a01_staff_create_cli_refuses_weak_password(var_dir: Path) -> None:
    out = _run(["staff", "create", "boss", "--role", "admin"], var_dir, "boss12345")
    assert out.returncode == 1 and "密码不符合要求" in out.stderr and "boss12345" not in out.stderr
