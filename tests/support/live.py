"""Real processes over a real, committed database: a fresh database per test and worker processes.

The ``db`` fixture's rolled-back transaction cannot be shared with other processes; these tests get
their own database (an SQLite file, or a new PostgreSQL database on the test server) and start
workers as separate processes with ``CS_…`` settings, as production does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from backend.db import STRICT_LOOP_ENV
from tests.support.servers import PostgresServer

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def fresh_database(kind: str, tmp_path: Path, postgres: PostgresServer | None) -> Iterator[str]:
    """The URL of an empty database, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'live.sqlite3'}"
        return
    assert postgres is not None
    url = make_url(postgres.url)
    name = f"live_{uuid.uuid4().hex[:10]}"
    dsn = f"host={url.host} port={url.port} user={url.username} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def worker_env(*, database_url: str, redis_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker process (local mode, test keys)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CS_")}
    env.update({"CS_MODE": "local", "CS_DATABASE_URL": database_url, "CS_REDIS_URL": redis_url,
                "CS_VAR_DIR": str(var_dir), "CS_RUN_WORKER": "false", "PYTHONPATH": str(ROOT)})
    env[STRICT_LOOP_ENV] = "1"  # a SQLite write lock taken in the event loop fails loudly (backend.db)
    env.update(extra)
    return env


def spawn(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``python -m <args>`` in the repository with ``env``; output to ``log``."""
    if log is None:
        return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def wait_for(predicate, timeout: float, interval: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it is true or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return bool(value)
        time.sleep(interval)


def stop(proc: subprocess.Popen[bytes], *, kill: bool = False, timeout: float = 20) -> None:
    """SIGKILL (``kill``) or SIGTERM a process and wait for it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
