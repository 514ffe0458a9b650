"""The web chat channel (local mode): the page, a message through the dialogue engine (exactly once
per client_id), the poll with agents' replies once delivered, the Chinese errors; nothing of it in
production mode."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.conversations.models import WechatInbox
from backend.conversations.turn_models import ConversationTurn
from backend.db import session_scope
from backend.handoff import console, messages
from backend.handoff.service import request_handoff
from backend.jobs.registry import discover
from backend.jobs.runner import Executor, claim_due
from backend.runtime import Runtime
from backend.webchat import service as chat
from backend.worker import job_context
from tests.backend.staff.helpers import make_staff

SEND = "/chat/api/messages"


def _open_page(client: TestClient) -> str:
    """Open the chat page like a browser: the anonymous cookie; returns its value."""
    r = client.get("/chat/")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "在线客服" in r.text and "/chat/static/chat.js" in r.text
    cookie = client.cookies.get("cs_chat")
    assert cookie and chat.valid_cookie(cookie)
    return cookie


def _send(client: TestClient, text: str, client_id: str) -> Any:
    return client.post(SEND, json={"text": text, "client_id": client_id})


def _poll(client: TestClient, after: str = "") -> dict[str, Any]:
    r = client.get(SEND, params={"after": after} if after else None)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _user(runtime: Runtime, cookie: str) -> str:
    return chat.customer_id(cookie, secret=runtime.settings.auth.session_secret.get_secret_value())


def test_a_message_gets_the_bots_answer_and_the_poll_shows_both(client: TestClient) -> None:
    _open_page(client)
    r = _send(client, "你好", "hello-0001")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["repeated"] is False
    roles = [item["role"] for item in body["items"]]
    assert roles[0] == "customer" and body["items"][0]["text"] == "你好"
    bot = [item["text"] for item in body["items"] if item["role"] == "bot"]
    assert bot and all(bot), body  # the engine answered
    page = _poll(client)
    assert [i["id"] for i in page["items"]] == [i["id"] for i in body["items"]]
    assert _poll(client, page["cursor"])["items"] == []  # nothing new after the cursor


def test_the_same_client_id_twice_is_answered_once(client: TestClient, db: Session,
                                                    runtime: Runtime) -> None:
    cookie = _open_page(client)
    first = _send(client, "怎么报案", "retry-0001")
    second = _send(client, "怎么报案", "retry-0001")
    assert first.status_code == second.status_code == 200
    assert second.json()["repeated"] is True
    assert second.json()["items"] == first.json()["items"]
    user = _user(runtime, cookie)
    turns = db.scalar(select(func.count()).select_from(ConversationTurn)
                      .where(ConversationTurn.channel == "web", ConversationTurn.user_id == user))
    inbox = db.scalar(select(func.count()).select_from(WechatInbox).where(WechatInbox.openid == user))
    assert (turns, inbox) == (1, 1)
    # another customer's message with the same client id is their own message
    client.cookies.clear()
    _open_page(client)
    other = _send(client, "怎么报案", "retry-0001")
    assert other.status_code == 200 and other.json()["repeated"] is False


def _run_due_deliveries(runtime: Runtime) -> int:
    executor = Executor(job_context(runtime), discover())
    with session_scope(runtime.sessions) as s:
        claimed = claim_due(s, now=runtime.clock() + dt.timedelta(seconds=1), limit=100, lease_s=60,
                            kinds=[messages.DELIVER_KIND])
    for row in claimed:
        executor.execute([row])
    return len(claimed)


def test_agent_messages_appear_in_the_poll_once_sent_after_the_cursor_not_before(
        client: TestClient, runtime: Runtime) -> None:
    cookie = _open_page(client)
    user = _user(runtime, cookie)
    now = runtime.clock()
    with session_scope(runtime.sessions) as s:
        agent = make_staff(s, runtime.cipher, "webagent", "agent", now=now).staff.id
        hid = request_handoff(s, channel="web", user_id=user, reason="asked", cipher=runtime.cipher,
                              now=now).id
        console.take(s, handoff_id=hid, staff_id=agent, now=now)
    before = _poll(client)
    assert all(item["role"] != "agent" for item in before["items"])
    with session_scope(runtime.sessions) as s:
        console.reply(s, handoff_id=hid, staff_id=agent, text="您好，我是客服小林", now=now,
                      cipher=runtime.cipher)
    pending = _poll(client, before["cursor"])
    assert pending["items"] == [] and pending["cursor"] == before["cursor"]  # not delivered yet
    assert _run_due_deliveries(runtime) == 1
    page = _poll(client, before["cursor"])
    assert [(i["role"], i["text"]) for i in page["items"]] == [("agent", "您好，我是客服小林")]
    assert _poll(client, page["cursor"])["items"] == []  # once
    # not in another customer's chat
    client.cookies.clear()
    _open_page(client)
    assert _poll(client)["items"] == []


def _error(r: Any, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    message: str = error["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    return message


def test_bad_input_gets_a_plain_chinese_error(client: TestClient) -> None:
    assert "请重新打开聊天页面" in _error(_send(client, "你好", "nocookie-1"), 401, "no_chat_session")
    assert "请重新打开聊天页面" in _error(client.get(SEND), 401, "no_chat_session")
    _open_page(client)
    assert "请先输入" in _error(_send(client, "   ", "empty-0001"), 400, "empty_text")
    assert "500" in _error(_send(client, "保" * 501, "long-00001"), 400, "text_too_long")
    _error(_send(client, "你好", "x"), 400, "bad_client_id")
    _error(client.get(SEND, params={"after": "abc"}), 400, "bad_cursor")
    _error(client.get(SEND, params={"after": "877777777777777777.1"}), 400, "bad_cursor")  # past any id
    _error(client.post(SEND, content=b"not json", headers={"content-type": "application/json"}),
           422, "invalid_request")
    assert _send(client, "保" * 500, "long-00002").status_code == 200  # the limit itself is fine


def test_the_page_keeps_its_cookie_and_serves_only_its_assets(client: TestClient) -> None:
    cookie = _open_page(client)
    r = client.get("/chat/")
    assert "cs_chat" not in r.headers.get("set-cookie", "")
    assert client.cookies.get("cs_chat") == cookie
    assert client.get("/chat/static/chat.js").status_code == 200
    assert client.get("/chat/static/chat.css").headers["content-type"].startswith("text/css")
    assert client.get("/chat/static/chat.html").status_code == 404
    assert client.get("/chat/static/..%2Fapi.py").status_code == 404


def test_a_pending_agent_message_holds_back_later_ones_so_the_cursor_never_skips_it(
        client: TestClient, runtime: Runtime) -> None:
    cookie = _open_page(client)
    user = _user(runtime, cookie)
    now = runtime.clock()
    with session_scope(runtime.sessions) as s:
        agent = make_staff(s, runtime.cipher, "webagent2", "agent", now=now).staff.id
        hid = request_handoff(s, channel="web", user_id=user, reason="asked", cipher=runtime.cipher,
                              now=now).id
        console.take(s, handoff_id=hid, staff_id=agent, now=now)
        first = console.reply(s, handoff_id=hid, staff_id=agent, text="第一句", now=now,
                              cipher=runtime.cipher)
        second = console.reply(s, handoff_id=hid, staff_id=agent, text="第二句", now=now,
                               cipher=runtime.cipher)
        assert first.id < second.id
        second.delivery = "sent"  # its delivery finished first
    page = _poll(client)
    assert [i["text"] for i in page["items"] if i["role"] == "agent"] == []
    assert _run_due_deliveries(runtime) == 2
    later = _poll(client, page["cursor"])
    assert [(i["role"], i["text"]) for i in later["items"]] == [("agent", "第一句"), ("agent", "第二句")]
