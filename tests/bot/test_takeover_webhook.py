"""A live bot conversation taken over from the console: the customer's next WeChat message, through the
real webhook (fast path and full path), reaches the person and the bot does not answer it."""

from __future__ import annotations

from sqlalchemy import select

from backend.db import session_scope
from backend.handoff.messages import read_text
from backend.handoff.models import HandoffMessage, HandoffRequest
from backend.handoff.takeover import bot_chats, take_over
from backend.runtime import Runtime
from tests.bot.conftest import Harness, inner_text_xml, uid

FAQ = "住院一天赔多少钱"
FAQ_MARK = "30元"




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
