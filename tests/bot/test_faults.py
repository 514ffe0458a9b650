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
from bot.inbox_protocol import DONE, message_key, user_lock_key
from tests.bot.conftest import Harness, build_harness, failing_commits, inner_text_xml, make_runtime
from tests.conftest import TEST_AUDIT_KEY
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
        again = wx.post(inner_text_xml("Redis停了", msg_id=msg_id))
        assert wx.reply_fields(again)["Content"] == "收到：Redis停了"
        assert [c.text for c in wx.handler.calls].count("Redis停了") == 1
        assert len(wx.inbox(f"m:{msg_id}")) == 1
        # F-R3: Redis comes back; new messages are deduped through it again, nothing sent twice
        own_redis.start()
        rt.wechat.guard.reset()
        assert wx.reply_fields(wx.post(inner_text_xml("恢复了")))["Content"] == "收到：恢复了"
    rt.wechat.processor.close()


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
    rt.wechat.processor.close()


def test_fp1_database_down_503_nothing_written_then_retry_processed(
    engine: Engine, redis_server: RedisServer, runtime: Runtime, fake_wechat: FakeWechat
) -> None:
    wx, rt = _harness(engine, redis_server.url, runtime, fake_wechat)
    dead = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nope", connect_timeout_s=1)
    live_sessions = rt.sessions
    msg_id = uid()
    inner = inner_text_xml("数据库挂了", msg_id=msg_id)
    with wx.client:
        rt.sessions = make_sessionmaker(dead, audit_key=TEST_AUDIT_KEY)
        started = time.monotonic()
        r = wx.post(inner)
        assert r.status_code == 503 and r.content == b""
        assert time.monotonic() - started < 3
        # claim released so WeChat's retry is processed
        assert rt.redis.get(message_key(f"m:{msg_id}")) is None
        rt.sessions = live_sessions
        assert wx.inbox(f"m:{msg_id}") == []  # nothing half-written
        retry = wx.post(inner)
        assert wx.reply_fields(retry)["Content"] == "收到：数据库挂了"
        assert len(wx.inbox(f"m:{msg_id}")) == 1
    rt.wechat.processor.close()
    dead.dispose()


def test_fp1_database_and_redis_down_503(
    engine: Engine, own_redis: RedisServer, runtime: Runtime, fake_wechat: FakeWechat
) -> None:
    wx, rt = _harness(engine, own_redis.url, runtime, fake_wechat)
    dead = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nope", connect_timeout_s=1)
    with wx.client:
        own_redis.stop()
        rt.sessions = make_sessionmaker(dead, audit_key=TEST_AUDIT_KEY)
        r = wx.post(inner_text_xml("全挂了"))
        assert r.status_code == 503
        assert wx.handler.calls == []  # strict path: nothing runs before the message is stored
    rt.wechat.processor.close()
    dead.dispose()


def test_fp1_commit_fails_nothing_written_then_retry_processed_once(
    engine: Engine, redis_server: RedisServer, runtime: Runtime, fake_wechat: FakeWechat, nlu: object
) -> None:
    """The real dialogue engine, one transaction: a failed COMMIT leaves no inbox, turn or domain row."""
    from sqlalchemy import func, select

    from backend.conversations.turn_models import ConversationTurn
    from backend.handoff.models import HandoffRequest
    from bot.dialogue.engine import build_engine

    wx, rt = _harness(engine, redis_server.url, runtime, fake_wechat)
    dialogue = build_engine(rt, nlu=nlu)
    rt.turn_handler = dialogue
    user, msg_id = "oCommit" + uid(), uid()
    inner = inner_text_xml("转人工", msg_id=msg_id, user=user)  # the handoff flow writes a domain row

    def counts() -> tuple[int, int, int]:
        with rt.sessions() as s:
            turns = s.scalar(select(func.count()).select_from(ConversationTurn).where(
                ConversationTurn.user_id == user))
            handoffs = s.scalar(select(func.count()).select_from(HandoffRequest).where(
                HandoffRequest.user_id == user))
        return len(wx.inbox(f"m:{msg_id}")), int(turns or 0), int(handoffs or 0)

    with wx.client:
        with failing_commits(engine):
            r = wx.post(inner)
        assert r.status_code == 503 and r.content == b""
        assert counts() == (0, 0, 0)  # neither the inbox row nor the turn nor the handoff
        assert rt.redis.get(message_key(f"m:{msg_id}")) is None  # claim released for WeChat's retry
        assert rt.redis.get(dialogue.store.key("official_account", user)) is None  # state not saved
        assert rt.redis.get(user_lock_key(user)) is None  # lock released
        retry = wx.post(inner)
        answer = wx.reply_fields(retry)["Content"]
        assert answer and counts() == (1, 1, 1)
        assert dialogue.store.load("official_account", user)[0] is not None
        again = wx.post(inner)  # a later redelivery: the stored answer, nothing processed twice
        assert wx.reply_fields(again)["Content"] == answer and counts() == (1, 1, 1)
    rt.wechat.processor.close()


def test_fr2_copy_processed_while_redis_forgot_gets_the_winners_answer(
    engine: Engine, redis_server: RedisServer, runtime: Runtime, fake_wechat: FakeWechat, nlu: object
) -> None:
    """The unique msg_key decides: the late copy's turn rolls back and answers the stored reply."""
    from sqlalchemy import func, select

    from backend.conversations.turn_models import ConversationTurn
    from bot.dialogue.engine import build_engine

    wx, rt = _harness(engine, redis_server.url, runtime, fake_wechat)
    rt.turn_handler = build_engine(rt, nlu=nlu)
    user, msg_id = "oForgot" + uid(), uid()
    inner = inner_text_xml("住院一天赔多少钱", msg_id=msg_id, user=user)

    def turns() -> int:
        with rt.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(ConversationTurn).where(
                ConversationTurn.user_id == user)) or 0)

    with wx.client:
        first = wx.reply_fields(wx.post(inner))["Content"]
        assert "30元" in first and turns() == 1
        rt.redis.delete(message_key(f"m:{msg_id}"))  # Redis forgot (restart, eviction): only the DB knows
        again = wx.reply_fields(wx.post(inner))["Content"]
        assert again == first and turns() == 1 and len(wx.inbox(f"m:{msg_id}")) == 1
        assert (rt.redis.get(message_key(f"m:{msg_id}")) or b"")[:1] == DONE.encode()  # remembered again
        assert rt.redis.get(user_lock_key(user)) is None
    rt.wechat.processor.close()
