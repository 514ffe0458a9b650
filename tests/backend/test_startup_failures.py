"""A database or Redis that is down at start-up: a clear message and a non-zero exit; readiness fails fast."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.redis_conn import RedisHandle
from backend.runtime import Runtime
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def _run_cli(args: list[str], env_extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CS_")}
    env.update({"CS_VAR_DIR": str(tmp_path / "var"), **env_extra})
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_database_down_at_startup_exits_with_clear_message(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    out = _run_cli(["db", "upgrade"], {"DATABASE_URL": f"postgresql+psycopg://u:secretpw@127.0.0.1:{port}/x"},
                   tmp_path)
    assert out.returncode == 2
    assert "数据库连不上" in out.stderr and "DATABASE_URL" in out.stderr
    assert "secretpw" not in out.stderr and "Traceback" not in out.stderr


def test_redis_down_at_startup_exits_with_clear_message(tmp_path: Path) -> None:
    port = free_port()
    out = _run_cli(["db", "upgrade"], {"REDIS_URL": f"redis://127.0.0.1:{port}/0"}, tmp_path)
    assert out.returncode == 2
    assert "Redis 连不上" in out.stderr and "REDIS_URL" in out.stderr
    assert "Traceback" not in out.stderr


def test_embedded_defaults_start_and_migrate(tmp_path: Path) -> None:
    out = _run_cli(["db", "upgrade"], {}, tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "var" / "service.sqlite3").exists()


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port that accepts TCP connections and never answers (a DROP-like fault)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(100)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield int(srv.getsockname()[1])
    stop.set()
    t.join()
    for c in conns:
        c.close()
    srv.close()


@pytest.mark.parametrize("fault", ["rst", "blackhole"])
def test_f_r1_redis_down_readiness_fails_fast(fault: str, runtime: Runtime, client: TestClient,
                                               request: pytest.FixtureRequest) -> None:
    port = free_port() if fault == "rst" else request.getfixturevalue("blackhole")
    started = time.monotonic()
    assert client.get("/readyz").status_code == 200
    healthy = time.monotonic() - started  # the same request with Redis up: what this machine takes now
    handle = RedisHandle(url=f"redis://127.0.0.1:{port}/0", socket_timeout=0.3, connect_timeout=0.3)
    runtime.redis = handle.sync_client()
    started = time.monotonic()
    r = client.get("/readyz")
    elapsed = time.monotonic() - started
    assert r.status_code == 503
    assert r.json()["checks"]["redis"].startswith("unreachable")
    assert r.json()["checks"]["database"] == "ok"
    # Two 0.3 s timeouts at most (one retry), whatever the machine's load adds to any request.
    assert elapsed - healthy < 2.0, f"readiness: {elapsed:.2f}s with Redis {fault}, {healthy:.2f}s without"


def test_f_p1_database_down_readiness_503(runtime: Runtime, client: TestClient) -> None:
    from backend.db import make_engine

    runtime.engine = make_engine(f"postgresql+psycopg://u@127.0.0.1:{free_port()}/x", connect_timeout_s=1)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"].startswith("unreachable")
    assert r.json()["status"] == "unavailable"
