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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import select
from websockets.sync.client import ClientConnection, connect

from backend.db import session_scope
from backend.handoff import events
from backend.handoff.agents import set_capacity
from backend.handoff.models import HandoffRequest
from backend.runtime import Runtime, build_runtime
from config.settings import Settings
from tests.backend.staff.helpers import PASSWORD, code_at, make_staff
from tests.browser.serve_proc import FileClock
from tests.support.fake_wechat import FakeWechat
from tests.support.live import spawn, stop, wait_for, worker_env
from tests.support.servers import RedisServer, free_port
from tests.support.wechat_push import safe_mode_text_push


@pytest.fixture(autouse=True)
def empty_queue() -> None:
    """The processes here run on a fresh database of their own (``live_url``), not the suite's: the
    handoff folder's queue clean-up (and the suite's database parameter it brings) is not theirs."""


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
    _id, cookie, csrf = _staff_login(runtime, host, role)
    return cookie, csrf


def _staff_login(runtime: Runtime, host: str, role: str) -> tuple[int, str, str]:
    """A real account and a console login at ``host``: (staff id, cookie header, CSRF token)."""
    name = f"{role[:5]}{uuid.uuid4().hex[:8]}"
    with session_scope(runtime.sessions) as db:
        # made a minute ago: the TOTP step of its creation counts as used
        created = runtime.clock() - dt.timedelta(seconds=60)
        made = make_staff(db, runtime.cipher, name, role, now=created)
        secret, staff_id = made.totp_secret, made.staff.id
    r = httpx.post(f"http://{host}/api/console/login",
                   json={"username": name, "password": PASSWORD, "totp": code_at(secret, runtime.clock())})
    assert r.status_code == 200, r.text
    return staff_id, f"console_session={r.cookies['console_session']}", r.json()["csrf_token"]


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


# --- a customer's WeChat message at process A's webhook → the agent's console at process B -----------

WEBHOOK_TOKEN = "ws-live-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
IN_HOURS = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)  # a working Monday, 10:00 in Shantou


@dataclass
class WebhookApis:
    """Two API processes with the webhook in safe mode (``a``: where customers write, ``b``: where the
    console is), the test's runtime on the same database and Redis, and the services' clock."""

    a: str
    b: str
    runtime: Runtime
    wechat: FakeWechat
    clock: FileClock

    def customer_says(self, openid: str, text: str) -> None:
        """A text message pushed to ``/wechat`` at process A, encrypted and signed as WeChat does."""
        self.wechat.user_wrote(openid)
        params, body = safe_mode_text_push(openid, text, token=WEBHOOK_TOKEN, app_id=self.wechat.app_id,
                                           aes_key=AES_KEY, to_user="gh_live", msg_id=time.time_ns() // 1000,
                                           created=int(self.clock().timestamp()))
        r = httpx.post(f"http://{self.a}/wechat", params=params, content=body, timeout=30,
                       headers={"Content-Type": "text/xml"})
        assert r.status_code == 200, r.text


@pytest.fixture
def webhook_apis(live_url: str, redis_server: RedisServer, tmp_path: Path) -> Iterator[WebhookApis]:
    """``two_apis`` with the WeChat webhook on (safe mode, the fake WeChat API) and the services' clock
    on a working morning (``tests.browser.serve_proc``: ``backend serve`` with a test clock), whatever
    the wall clock says: outside service hours 转人工 does not reach an agent at once."""
    wechat = FakeWechat(cs_limit=None).start()
    clock = FileClock(IN_HOURS, time.time(), tmp_path / "clock-offset")
    env = worker_env(database_url=live_url, redis_url=redis_server.url, var_dir=tmp_path / "var",
                     CS_WECHAT__TOKEN=WEBHOOK_TOKEN, CS_WECHAT__APP_ID=wechat.app_id,
                     CS_WECHAT__APP_SECRET=wechat.app_secret, CS_WECHAT__ENCODING_AES_KEY=AES_KEY,
                     CS_WECHAT__MODE="safe", CS_WECHAT__API_BASE_URL=wechat.url,
                     BROWSER_CLOCK_START=clock.start.isoformat(), BROWSER_CLOCK_WALL=str(clock.wall_start),
                     BROWSER_CLOCK_FILE=str(clock.path))
    settings = Settings(mode="local", var_dir=tmp_path / "var", run_worker=False,
                        db={"url": live_url}, redis={"url": redis_server.url})
    runtime = build_runtime(settings)  # migrates the fresh database before the processes start
    runtime.clock = clock  # the TOTP codes of the logins are the services' clock's
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"api{i}.log" for i in range(2)]
    procs = [spawn(env, "tests.browser.serve_proc", "--port", str(p), log=log)
             for p, log in zip(ports, logs, strict=True)]
    try:
        for p, log in zip(ports, logs, strict=True):
            assert wait_for(lambda p=p: _healthy(p), timeout=60), log.read_text(errors="replace")[-3000:]
        yield WebhookApis(a=f"127.0.0.1:{ports[0]}", b=f"127.0.0.1:{ports[1]}", runtime=runtime,
                          wechat=wechat, clock=clock)
    finally:
        for proc in procs:
            stop(proc)
        runtime.close()
        wechat.stop()


def _order(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _until(ws: ClientConnection, done: Any, timeout: float = 10) -> list[dict[str, Any]]:
    """Frames (cursor notes included) up to and including the first for which ``done(frame)``."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not got or not done(got[-1]):
        got.append(json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic()))))
    return got


def _events_of(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] not in ("cursor", "resync")]


def _handoff_of(runtime: Runtime, openid: str, status: str) -> HandoffRequest | None:
    with session_scope(runtime.sessions) as db:
        row = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == openid)).first()
        if row is None or row.status != status:
            return None
        db.expunge(row)
        return row


@dataclass
class TakenChat:
    handoff_id: int
    openid: str
    agent_cookie: str
    agent_headers: dict[str, str]
    other_ws: ClientConnection  # an agent of another group, connected at B since before 转人工
    seen: list[dict[str, Any]]  # the agent's events so far (queued, assigned)


@contextmanager
def _chat_taken_at_b(apis: WebhookApis,
                     redis_client: redis.Redis) -> Iterator[tuple[TakenChat, ClientConnection]]:
    """A customer says 转人工 at A's webhook; an agent logged in at B (socket at B) takes the chat at B.
    An agent of another group is logged in and connected at B too."""
    runtime = apis.runtime
    agent_id, agent_cookie, agent_csrf = _staff_login(runtime, apis.b, "agent")  # every group
    other_id, other_cookie, _ = _staff_login(runtime, apis.b, "agent")
    openid = f"oLive{uuid.uuid4().hex[:12]}"
    start = events.last_id(redis_client)
    with session_scope(runtime.sessions) as db:  # before process B first reads the other's groups
        set_capacity(db, other_id, 3, now=runtime.clock(), groups=["claims"])
    with _socket(apis.b, agent_cookie, after=start) as ws, \
            _socket(apis.b, other_cookie, after=start) as other:
        apis.customer_says(openid, "转人工")
        assert wait_for(lambda: _handoff_of(runtime, openid, "queued"), timeout=20), "no queued handoff"
        row = _handoff_of(runtime, openid, "queued")
        assert row is not None and row.skill_group != "claims", row.skill_group
        queued = _events_of(_until(ws, lambda f: f.get("type") == "handoff.queued"))
        assert queued[-1]["data"]["handoff_id"] == row.id
        headers = {"Cookie": agent_cookie, "X-CSRF-Token": agent_csrf}
        r = httpx.post(f"http://{apis.b}/api/console/conversations/{row.id}/take", headers=headers)
        assert r.status_code == 200, r.text
        seen = queued + _events_of(_until(ws, lambda f: f.get("type") == "handoff.assigned"))
        assert seen[-1]["data"]["handoff_id"] == row.id
        assert agent_id != other_id
        yield TakenChat(handoff_id=row.id, openid=openid, agent_cookie=agent_cookie, agent_headers=headers,
                        other_ws=other, seen=seen), ws


def test_a02_customer_message_at_process_a_webhook_reaches_the_agent_at_process_b(
        webhook_apis: WebhookApis, redis_client: redis.Redis) -> None:
    """转人工 and then a text through the real webhook (signed, encrypted) at process A; the agent who
    took the chat at process B gets ``handoff.message`` on their socket at B within a bounded time,
    the phone number masked as the console shows it; an agent of another group at B gets none of it."""
    apis = webhook_apis
    with _chat_taken_at_b(apis, redis_client) as (chat, ws):
        sent = time.monotonic()
        apis.customer_says(chat.openid, "电话13812345678")
        [got] = _events_of(_until(ws, lambda f: f.get("type") == "handoff.message", timeout=10))
        took = time.monotonic() - sent
        assert got["data"]["handoff_id"] == chat.handoff_id and got["data"]["direction"] == "customer"
        assert got["data"]["snippet"] == "电话138****5678"
        assert "13812345678" not in json.dumps(got, ensure_ascii=False)
        assert took < 5.0, took  # the webhook's own round trip included (tens of ms when quiet)
        # the console at B shows the message the event points at, masked the same way
        r = httpx.get(f"http://{apis.b}/api/console/conversations/{chat.handoff_id}",
                      headers={"Cookie": chat.agent_cookie})
        assert r.status_code == 200, r.text
        shown = {m["id"]: m for m in r.json()["messages"]}[f"m{got['data']['message_id']}"]
        assert (shown["direction"], shown["text"]) == ("customer", "电话138****5678")
        # the agent of another group: cursor notes only, up to (at least) that message's event
        other = _until(chat.other_ws, lambda f: _order(f["id"]) >= _order(got["id"]))
        assert _events_of(other) == [], other


def test_an_agent_reconnecting_at_process_b_gets_the_customer_messages_it_missed(
        webhook_apis: WebhookApis, redis_client: redis.Redis) -> None:
    """The agent's socket at B goes away; meanwhile the customer writes twice at A; the agent comes back
    at B with the last id it saw and gets exactly those two messages, in order, once; then live again."""
    apis = webhook_apis
    with _chat_taken_at_b(apis, redis_client) as (chat, ws):
        apis.customer_says(chat.openid, "第一条")
        [first] = _events_of(_until(ws, lambda f: f.get("type") == "handoff.message"))
        last = first["id"]
    # the browser is away: the customer writes twice at A, both committed and published before it returns
    apis.customer_says(chat.openid, "第二条")
    apis.customer_says(chat.openid, "第三条")

    def missed() -> list[events.Event]:
        return [e for e in events.read_after(redis_client, last)[0]
                if e.type == "handoff.message" and e.data.get("handoff_id") == chat.handoff_id]

    assert wait_for(lambda: len(missed()) >= 2, timeout=20), missed()
    gap = missed()
    assert [e.data["snippet"] for e in gap] == ["第二条", "第三条"]
    with _socket(apis.b, chat.agent_cookie, after=last) as ws:
        replayed = _events_of(_until(ws, lambda f: f.get("id") == gap[-1].id))
        assert [(e["id"], e["type"], e["data"]["snippet"]) for e in replayed] == [
            (e.id, "handoff.message", e.data["snippet"]) for e in gap]
        # nothing replayed twice, nothing else pending: the next event is the next live message
        apis.customer_says(chat.openid, "第四条")
        nxt = _events_of(_until(ws, lambda f: f.get("type") not in ("cursor", "resync")))
        assert [(e["type"], e["data"]["snippet"]) for e in nxt] == [("handoff.message", "第四条")]
        assert _order(nxt[0]["id"]) > _order(gap[-1].id)
