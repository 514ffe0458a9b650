"""The console's live events across two real API processes (uvicorn, a committed database, one Redis):
an agent connected to process 1 sees what happened at process 2; a browser that disconnects and comes
back with its last id gets what it missed; one too far behind is told to re-sync."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from websockets.sync.client import ClientConnection, connect

from backend.db import session_scope
from backend.handoff import events
from backend.runtime import Runtime, build_runtime
from config.settings import Settings
from tests.backend.staff.helpers import PASSWORD, code_at, make_staff
from tests.support.live import fresh_database, spawn, stop, wait_for, worker_env
from tests.support.servers import RedisServer, free_port


@pytest.fixture(params=["sqlite", "postgresql"])
def live_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    pg = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    with fresh_database(request.param, tmp_path, pg) as url:
        yield url


@pytest.fixture
def two_apis(live_url: str, redis_server: RedisServer, redis_client: redis.Redis,
             tmp_path: Path) -> Iterator[tuple[str, str, Runtime]]:
    """Two API processes on one database and one Redis, and a runtime of the test on the same."""
    env = worker_env(database_url=live_url, redis_url=redis_server.url, var_dir=tmp_path / "var")
    settings = Settings(mode="local", var_dir=tmp_path / "var", run_worker=False,
                        db={"url": live_url}, redis={"url": redis_server.url})
    runtime = build_runtime(settings)  # migrates the fresh database before the processes start
    ports = [free_port(), free_port()]
    procs = [spawn(env, "backend", "serve", "--port", str(p), log=tmp_path / f"api{i}.log")
             for i, p in enumerate(ports)]
    try:
        for p in ports:
            assert wait_for(lambda p=p: _healthy(p), timeout=60), (tmp_path / "api0.log").read_text()
        yield f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}", runtime
    finally:
        for proc in procs:
            stop(proc)
        runtime.close()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _login(runtime: Runtime, host: str, role: str) -> tuple[str, str]:
    """A real account and a console login at ``host``: (cookie header, CSRF token)."""
    name = f"{role[:5]}{uuid.uuid4().hex[:8]}"
    with session_scope(runtime.sessions) as db:
        # made a minute ago: the TOTP step of its creation counts as used
        created = runtime.clock() - dt.timedelta(seconds=60)
        secret = make_staff(db, runtime.cipher, name, role, now=created).totp_secret
    r = httpx.post(f"http://{host}/api/console/login",
                   json={"username": name, "password": PASSWORD, "totp": code_at(secret, runtime.clock())})
    assert r.status_code == 200, r.text
    return f"console_session={r.cookies['console_session']}", r.json()["csrf_token"]


def _receive(ws: ClientConnection, want: int, timeout: float = 10) -> list[dict[str, Any]]:
    """The next ``want`` events (cursor notes skipped)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < want:
        msg = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if msg["type"] != "cursor":
            got.append(msg)
    return got


@contextmanager
def _socket(host: str, cookie: str, after: str | None = None) -> Iterator[ClientConnection]:
    query = f"?after={after}" if after else ""
    with connect(f"ws://{host}/api/console/ws{query}", additional_headers={"Cookie": cookie},
                 open_timeout=10) as ws:
        yield ws


def test_event_at_process_two_reaches_an_agent_on_process_one_and_reconnect_replays(
        two_apis: tuple[str, str, Runtime], redis_client: redis.Redis) -> None:
    one, two, runtime = two_apis
    cookie, _csrf = _login(runtime, one, "supervisor")
    _login(runtime, two, "supervisor")
    start = events.last_id(redis_client)
    with _socket(one, cookie, after=start) as ws:
        time.sleep(0.3)  # connected and blocking on the stream
        sent = time.monotonic()
        eid = events.publish(redis_client, "handoff.message", {"handoff_id": 41, "snippet": "你好"})
        [got] = _receive(ws, 1)
        assert got == {"id": eid, "type": "handoff.message", "data": {"handoff_id": 41, "snippet": "你好"}}
        assert time.monotonic() - sent < 2.0
        last = got["id"]
    # the browser is away: three things happen, then it comes back to the other process
    missed = [events.publish(redis_client, "handoff.queued", {"handoff_id": 50 + i}) for i in range(3)]
    with _socket(two, cookie, after=last) as ws:
        replayed = _receive(ws, 3)
        assert [e["id"] for e in replayed] == missed
        live = events.publish(redis_client, "handoff.closed", {"handoff_id": 41})
        assert [e["id"] for e in _receive(ws, 1)] == [live]


def test_a_client_too_far_behind_is_told_to_resync(two_apis: tuple[str, str, Runtime],
                                                   redis_client: redis.Redis) -> None:
    one, _two, runtime = two_apis
    cookie, _csrf = _login(runtime, one, "supervisor")
    old = [events.publish(redis_client, "handoff.queued", {"handoff_id": i}) for i in range(5)]
    redis_client.xtrim(events.STREAM, maxlen=2, approximate=False)
    with _socket(one, cookie, after=old[0]) as ws:
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "resync" and first["id"] == old[-1]
        nxt = events.publish(redis_client, "handoff.queued", {"handoff_id": 99})
        assert [e["id"] for e in _receive(ws, 1)] == [nxt]


def test_a02_socket_without_a_session_is_refused(two_apis: tuple[str, str, Runtime]) -> None:
    one, _two, _runtime = two_apis
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    with pytest.raises((InvalidStatus, ConnectionClosed)), _socket(one, "console_session=nope") as ws:
        ws.recv(timeout=5)


def test_a05_socket_from_another_site_is_refused(two_apis: tuple[str, str, Runtime]) -> None:
    """Cross-site WebSocket hijacking: a logged-in browser on another site's page sends the cookie
    only if SameSite fails; the Origin check refuses it anyway."""
    one, _two, runtime = two_apis
    cookie, _csrf = _login(runtime, one, "supervisor")
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    with pytest.raises((InvalidStatus, ConnectionClosed)), connect(
            f"ws://{one}/api/console/ws", additional_headers={"Cookie": cookie},
            origin="http://evil.example", open_timeout=10) as ws:  # type: ignore[arg-type]
        ws.recv(timeout=5)
    with _socket(one, cookie) as ws:  # same origin (no Origin header from this client): accepted
        eid = events.publish(runtime.redis, "handoff.queued", {"handoff_id": 1})
        assert [e["id"] for e in _receive(ws, 1)] == [eid]


def _queued_row(runtime: Runtime, reason: str = "asked") -> int:
    from backend.handoff.service import request_handoff

    with session_scope(runtime.sessions) as db:
        row = request_handoff(db, channel="official_account", user_id=f"o{uuid.uuid4().hex[:12]}",
                              reason=reason, summary="想问理赔", cipher=runtime.cipher, now=runtime.clock())
        return row.id


def test_a02_actions_at_process_two_reach_process_one_and_agents_see_only_their_chats(
        two_apis: tuple[str, str, Runtime], redis_client: redis.Redis) -> None:
    one, two, runtime = two_apis
    boss_cookie, _ = _login(runtime, one, "supervisor")
    watcher_cookie, _ = _login(runtime, one, "agent")  # every group by default
    worker_cookie, worker_csrf = _login(runtime, two, "agent")
    general = _queued_row(runtime)
    start = events.last_id(redis_client)
    with _socket(one, boss_cookie, after=start) as boss, _socket(one, watcher_cookie, after=start) as watcher:
        time.sleep(0.3)
        headers = {"Cookie": worker_cookie, "X-CSRF-Token": worker_csrf}
        r = httpx.post(f"http://{two}/api/console/conversations/{general}/take", headers=headers)
        assert r.status_code == 200, r.text
        r = httpx.post(f"http://{two}/api/console/conversations/{general}/note", headers=headers,
                       json={"text": "客户要理赔材料清单"})
        assert r.status_code == 200, r.text
        seen = _receive(boss, 2)
        assert [(e["type"], e["data"]["handoff_id"]) for e in seen] == [
            ("handoff.assigned", general), ("handoff.note", general)]
        assert "客户要理赔材料清单" not in json.dumps(seen, ensure_ascii=False)  # no chat text in events
        # the other agent may not read a chat assigned to a colleague: only cursor notes reach them
        notes = [json.loads(watcher.recv(timeout=5))]
        while notes[-1]["id"] != seen[-1]["id"]:
            notes.append(json.loads(watcher.recv(timeout=5)))
        assert all(n["type"] == "cursor" for n in notes), notes
