"""Redis and database faults on the webhook path (catalogue §6 F-R1, F-R2, F-P1)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from backend.db import make_engine, make_sessionmaker
from backend.runtime import Runtime
from tests.bot.conftest import Harness, build_harness, inner_text_xml, make_runtime
from tests.support.fake_wechat import FakeWechat
from tests.support.servers import RedisServer, free_port, start_redis


def uid() -> str:
    return str(uuid.uuid4().int % 10**18)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A TCP port that accepts connections into its backlog and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    sock.close()


def _harness(engine: Engine, redis_url: str, runtime: Runtime, fake: FakeWechat) -> tuple[Harness, Runtime]:
    rt = make_runtime(engine, redis_url, runtime)
    wx, _client = build_harness(rt, fake)
    return wx, rt


def test_fr1_redis_stopped_rst_still_answers_fast_and_once(
    engine: Engine, own_redis: RedisServer, runtime: Runtime, fake_wechat: FakeWechat
) -> None:
    wx, rt = _harness(engine, own_redis.url, runtime, fake_wechat)
    with wx.client:
        assert wx.reply_fields(wx.post(inner_text_xml("正常")))["Content"] == "收到：正常"
        own_redis.stop()
        msg_id = uid()
        started = time.monotonic()
        r = wx.post(inner_text_xml("Redis停了", msg_id=msg_id))
        assert time.monotonic() - started < 1.0
        assert wx.reply_fields(r)["Content"] == "收到：Redis停了"
        # F-R2: dedupe falls back to the database's unique constraint
        wx.runtime.extras["wechat"].processor._inflight.clear()
        again = wx.post(inner_text_xml("Redis停了", msg_id=msg_id))
        assert wx.reply_fields(again)["Content"] == "收到：Redis停了"
        assert [c.text for c in wx.handler.calls].count("Redis停了") == 1
        assert len(wx.inbox(f"m:{msg_id}")) == 1
        # F-R3: Redis comes back; new messages are deduped through it again, nothing sent twice
        own_redis.start()
        rt.extras["wechat"].guard._open_until = 0.0
        assert wx.reply_fields(wx.post(inner_text_xml("恢复了")))["Content"] == "收到：恢复了"
    rt.extras["wechat"].processor.close()


def test_fr1_redis_blackholed_answers_within_a_second(
    engine: Engine, blackhole: str, runtime: Runtime, fake_wechat: FakeWechat
) -> None:
    wx, rt = _harness(engine, blackhole, runtime, fake_wechat)
    with wx.client:
        for text in ("黑洞一", "黑洞二"):
            started = time.monotonic()
            r = wx.post(inner_text_xml(text))
            assert time.monotonic() - started < 1.0
            assert wx.reply_fields(r)["Content"] == "收到：" + text
    rt.extras["wechat"].processor.close()


def test_fp1_database_down_503_nothing_written_then_retry_processed(
    engine: Engine, redis_server: RedisServer, runtime: Runtime, fake_wechat: FakeWechat
) -> None:
    wx, rt = _harness(engine, redis_server.url, runtime, fake_wechat)
    dead = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nope", connect_timeout_s=1)
    live_sessions = rt.sessions
    msg_id = uid()
    inner = inner_text_xml("数据库挂了", msg_id=msg_id)
    with wx.client:
        rt.sessions = make_sessionmaker(dead)
        started = time.monotonic()
        r = wx.post(inner)
        assert r.status_code == 503 and r.content == b""
        assert time.monotonic() - started < 3
        assert rt.redis.get(f"wx:msg:m:{msg_id}") is None  # claim released so WeChat's retry is processed
        rt.sessions = live_sessions
        assert wx.inbox(f"m:{msg_id}") == []  # nothing half-written
        retry = wx.post(inner)
        assert wx.reply_fields(retry)["Content"] == "收到：数据库挂了"
        assert len(wx.inbox(f"m:{msg_id}")) == 1
    rt.extras["wechat"].processor.close()
    dead.dispose()


def test_fp1_database_and_redis_down_503(
    engine: Engine, own_redis: RedisServer, runtime: Runtime, fake_wechat: FakeWechat
) -> None:
    wx, rt = _harness(engine, own_redis.url, runtime, fake_wechat)
    dead = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nope", connect_timeout_s=1)
    with wx.client:
        own_redis.stop()
        rt.sessions = make_sessionmaker(dead)
        r = wx.post(inner_text_xml("全挂了"))
        assert r.status_code == 503
        assert wx.handler.calls == []  # strict path: nothing runs before the message is stored
    rt.extras["wechat"].processor.close()
    dead.dispose()
