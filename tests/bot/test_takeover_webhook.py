"""A live bot conversation taken over from the console: the customer's next WeChat message, through the
real webhook (fast path and full path), reaches the person and the bot does not answer it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from backend.db import session_scope
from backend.handoff.messages import read_text
from backend.handoff.models import HandoffMessage, HandoffRequest
from backend.handoff.takeover import bot_chats, take_over
from backend.runtime import Runtime
from bot.dialogue.engine import build_engine
from tests.bot.conftest import Harness, build_harness, inner_text_xml, make_runtime
from tests.support.fake_wechat import FakeWechat
from tests.support.servers import RedisServer

FAQ = "住院一天赔多少钱"
FAQ_MARK = "30元"


def uid() -> str:
    return str(uuid.uuid4().int % 10**18)


@pytest.fixture
def live(engine: Engine, redis_server: RedisServer, runtime: Runtime, fake_wechat: FakeWechat,
         nlu: Any) -> Iterator[tuple[Harness, Runtime]]:
    rt = make_runtime(engine, redis_server.url, runtime)
    wx, client = build_harness(rt, fake_wechat)
    rt.turn_handler = build_engine(rt, nlu=nlu)
    with client:
        yield wx, rt
    rt.wechat.processor.close()
    rt.redis.close()


def test_after_take_over_the_customers_next_message_goes_to_the_person_and_the_bot_is_quiet(
        live: tuple[Harness, Runtime]) -> None:
    wx, rt = live
    user = "oTake" + uid()
    assert FAQ_MARK in wx.reply_fields(wx.post(inner_text_xml(FAQ, msg_id=uid(), user=user)))["Content"]
    now = rt.clock()
    with session_scope(rt.sessions, write=True) as s:
        [chat] = [c for c in bot_chats(s, now=now) if c.user_id == user]
        row = take_over(s, turn_id=chat.turn_id, staff_id=1, now=now, cipher=rt.cipher, redis=rt.redis)
        handoff_id = row.id
    r = wx.post(inner_text_xml(FAQ, msg_id=uid(), user=user))  # the same question again
    assert r.status_code == 200 and r.text == "success"  # no bot answer: the person answers
    with session_scope(rt.sessions) as s:
        row = s.get(HandoffRequest, handoff_id)
        assert row is not None and row.status == "agent" and row.unread == 1
        said = [read_text(m, cipher=rt.cipher) for m in s.scalars(
            select(HandoffMessage).where(HandoffMessage.handoff_id == handoff_id,
                                         HandoffMessage.direction == "customer"))]
        assert said == [FAQ]
        assert row.waiting_since is not None  # the next-response clock runs from this message
