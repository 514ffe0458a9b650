"""Chat in the mini-program: a message through the same dialogue engine as the official account (its
own channel, once per Idempotency-Key), the poll with the bot's and an agent's replies, and each
customer seeing only their own chat."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from backend.conversations.models import WechatInbox
from backend.conversations.turn_models import ConversationTurn
from backend.db import session_scope
from backend.handoff import console, messages, pictures
from backend.handoff.service import request_handoff
from backend.jobs.registry import discover
from backend.jobs.runner import Executor, claim_due
from backend.worker import job_context
from tests.backend.staff.helpers import make_staff
from tests.backend.storage import images
from tests.miniprogram_api.conftest import API, MP

CHAT = f"{API}/chat/messages"


def _send(mp: MP, headers: dict[str, str], text: str, key: str) -> Any:
    return mp.client.post(CHAT, headers={**headers, "Idempotency-Key": key}, json={"text": text})


def _poll(mp: MP, headers: dict[str, str], after: str = "") -> dict[str, Any]:
    r = mp.client.get(CHAT, headers=headers, params={"after": after} if after else None)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_message_gets_the_bots_answer_and_the_poll_shows_both(mp: MP) -> None:
    headers = mp.login("o-chat-a")
    r = _send(mp, headers, "你好", "chat-hello-1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["repeated"] is False and body["items"][0] == {
        **body["items"][0],
        "role": "customer",
        "text": "你好",
    }
    bot = [i["text"] for i in body["items"] if i["role"] == "bot"]
    assert bot and all(bot), body
    page = _poll(mp, headers)
    assert [i["id"] for i in page["items"]] == [i["id"] for i in body["items"]]
    assert _poll(mp, headers, page["cursor"])["items"] == []
    # The engine ran on the mini-program's own channel, for this customer.
    turns = mp.db.scalars(select(ConversationTurn).where(ConversationTurn.user_id == "o-chat-a")).all()
    assert [t.channel for t in turns] == ["mini_program"]
    # Another customer's chat holds none of it.
    assert _poll(mp, mp.login("o-chat-b"))["items"] == []


def test_a_retried_send_is_handled_once(mp: MP) -> None:
    headers = mp.login("o-chat-retry")
    first = _send(mp, headers, "怎么报案", "chat-retry-1")
    second = _send(mp, headers, "怎么报案", "chat-retry-1")
    assert first.status_code == second.status_code == 200
    assert second.json()["repeated"] is True and second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["items"] == first.json()["items"]
    turns = mp.db.scalar(
        select(func.count()).select_from(ConversationTurn).where(ConversationTurn.user_id == "o-chat-retry")
    )
    inbox = mp.db.scalar(
        select(func.count()).select_from(WechatInbox).where(WechatInbox.openid == "o-chat-retry")
    )
    assert (turns, inbox) == (1, 1)
    # Another customer's same key is their own message.
    other = _send(mp, mp.login(), "怎么报案", "chat-retry-1")
    assert other.status_code == 200 and other.json()["repeated"] is False


def _deliver(mp: MP) -> int:
    executor = Executor(job_context(mp.runtime), discover())
    with session_scope(mp.runtime.sessions) as s:
        claimed = claim_due(
            s,
            now=mp.runtime.clock() + dt.timedelta(seconds=1),
            limit=100,
            lease_s=60,
            kinds=[messages.DELIVER_KIND],
        )
    for row in claimed:
        executor.execute([row])
    return len(claimed)


def test_an_agents_reply_arrives_in_the_poll_once_delivered(mp: MP) -> None:
    headers = mp.login("o-chat-agent")
    _send(mp, headers, "我要找人工客服", "chat-human-1")
    rt = mp.runtime
    now = rt.clock()
    with session_scope(rt.sessions) as s:
        agent = make_staff(s, rt.cipher, "mpagent", "agent", now=now).staff.id
        hid = request_handoff(
            s, channel="mini_program", user_id="o-chat-agent", reason="asked", cipher=rt.cipher, now=now
        ).id
        console.take(s, handoff_id=hid, staff_id=agent, now=now)
    before = _poll(mp, headers)
    assert all(i["role"] != "agent" for i in before["items"])
    with session_scope(rt.sessions) as s:
        console.reply(s, handoff_id=hid, staff_id=agent, text="您好，我是客服小林", now=now, cipher=rt.cipher)
    assert _poll(mp, headers, before["cursor"])["items"] == []  # not delivered yet
    assert _deliver(mp) >= 1
    page = _poll(mp, headers, before["cursor"])
    assert [(i["role"], i["text"]) for i in page["items"] if i["role"] == "agent"] == [
        ("agent", "您好，我是客服小林")
    ]
    assert _poll(mp, headers, page["cursor"])["items"] == []
    assert _poll(mp, mp.login())["items"] == []  # not in anyone else's chat


def test_bad_input_gets_a_plain_chinese_error(mp: MP) -> None:
    headers = mp.login()
    empty = _send(mp, headers, "   ", "chat-empty-1")
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "empty_text"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in empty.json()["error"]["message"])
    long = _send(mp, headers, "字" * 501, "chat-long-1")
    assert long.status_code == 400 and long.json()["error"]["code"] == "text_too_long"
    assert mp.client.post(CHAT, headers=headers, json={"text": "你好"}).status_code == 422  # no key
    assert mp.client.get(CHAT, headers=headers, params={"after": "x"}).status_code == 422
    assert mp.client.get(f"{API}/chat/pictures/12345", headers=headers).status_code == 404
    assert mp.client.get(CHAT).status_code == 401


def test_the_customer_opens_the_agents_picture_and_no_one_else_can(mp: MP) -> None:
    headers = mp.login("o-chat-pic")
    rt = mp.runtime
    now = rt.clock()
    with session_scope(rt.sessions) as s:
        agent = make_staff(s, rt.cipher, "mppicagent", "agent", now=now).staff.id
        hid = request_handoff(
            s, channel="mini_program", user_id="o-chat-pic", reason="asked", cipher=rt.cipher, now=now
        ).id
        console.take(s, handoff_id=hid, staff_id=agent, now=now)
    with session_scope(rt.sessions) as s:
        msg = pictures.send_picture(
            s,
            handoff_id=hid,
            staff_id=agent,
            chunks=[images.jpeg()],
            store=rt.file_store,
            now=now,
            cipher=rt.cipher,
        )
        url = f"{API}/chat/pictures/{msg.id}"
    assert mp.client.get(url, headers=headers).status_code == 404  # not delivered yet
    assert _deliver(mp) >= 1
    [item] = [i for i in _poll(mp, headers)["items"] if i["role"] == "agent"]
    assert item["image"] == url
    got = mp.client.get(url, headers=headers)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.content.startswith(b"\xff\xd8") and images.GPS_MAKER.encode() not in got.content
    other = mp.client.get(url, headers=mp.login())
    assert other.status_code == 404 and other.json()["error"]["code"] == "picture_not_found"
    assert mp.client.get(url).status_code == 401


def test_a_cursor_past_any_row_id_is_a_400_not_a_database_error(mp: MP) -> None:
    headers = mp.login()
    r = mp.client.get(CHAT, headers=headers, params={"after": "8.7705682926"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_cursor"
    assert _poll(mp, headers, "2147483647.0")["items"] == []
