"""The mini-program chat over a WebSocket: the same engine and lines as the poll, pushed; the login
token in a header; a logout ends the socket."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from backend.conversations.turn_models import ConversationTurn
from backend.db import session_scope
from backend.handoff import console
from backend.handoff.service import request_handoff
from tests.backend.staff.helpers import make_staff
from tests.miniprogram_api.conftest import API, MP
from tests.miniprogram_api.test_chat import _deliver

WS = f"{API}/chat/ws"


def _next(ws: Any, kind: str) -> dict[str, Any]:
    """The next frame of ``kind`` (others skipped)."""
    for _ in range(10):
        frame: dict[str, Any] = ws.receive_json()
        if frame["type"] == kind:
            return frame
    raise AssertionError(f"no {kind} frame")


def test_a_message_over_the_socket_gets_the_bots_answer_and_the_lines_follow(mp: MP) -> None:
    headers = mp.login("o-ws-a")
    with mp.client.websocket_connect(WS, headers=headers) as ws:
        ws.send_json({"type": "message", "id": "ws-hello-0001", "text": "你好"})
        sent = _next(ws, "sent")
        assert sent["id"] == "ws-hello-0001" and sent["repeated"] is False
        assert sent["items"][0]["role"] == "customer" and sent["items"][0]["text"] == "你好"
        assert any(i["role"] == "bot" and i["text"] for i in sent["items"])
        lines = _next(ws, "lines")
        assert [i["id"] for i in lines["items"]] == [i["id"] for i in sent["items"]]
        # The same key again (a reconnect's retry) is not run again.
        ws.send_json({"type": "message", "id": "ws-hello-0001", "text": "你好"})
        again = _next(ws, "sent")
        assert again["repeated"] is True and again["items"] == sent["items"]
    turns = mp.db.scalar(
        select(func.count()).select_from(ConversationTurn).where(ConversationTurn.user_id == "o-ws-a")
    )
    assert turns == 1
    # The poll sees the same lines; a POST with the same key is the same message.
    page = mp.client.get(f"{API}/chat/messages", headers=headers).json()
    assert [i["id"] for i in page["items"]] == [i["id"] for i in sent["items"]]
    post = mp.client.post(
        f"{API}/chat/messages", headers={**headers, "Idempotency-Key": "ws-hello-0001"}, json={"text": "你好"}
    )
    assert post.json()["repeated"] is True


def test_an_agents_reply_is_pushed_once_delivered(mp: MP) -> None:
    headers = mp.login("o-ws-agent")
    rt = mp.runtime
    now = rt.clock()
    with session_scope(rt.sessions) as s:
        agent = make_staff(s, rt.cipher, "wsagent", "agent", now=now).staff.id
        hid = request_handoff(
            s, channel="mini_program", user_id="o-ws-agent", reason="asked", cipher=rt.cipher, now=now
        ).id
        console.take(s, handoff_id=hid, staff_id=agent, now=now)
        console.reply(s, handoff_id=hid, staff_id=agent, text="您好，我是客服小林", now=now, cipher=rt.cipher)
    assert _deliver(mp) >= 1
    with mp.client.websocket_connect(WS, headers=headers) as ws:
        lines = _next(ws, "lines")
        assert [(i["role"], i["text"]) for i in lines["items"] if i["role"] == "agent"] == [
            ("agent", "您好，我是客服小林")
        ]
    # Another customer's socket gets none of it.
    with mp.client.websocket_connect(WS, headers=mp.login()) as ws:
        ws.send_json({"type": "message", "id": "ws-other-0001", "text": "你好"})
        lines = _next(ws, "lines")
        assert all(i["role"] != "agent" for i in lines["items"])


def test_bad_frames_get_an_error_and_the_socket_stays_open(mp: MP) -> None:
    with mp.client.websocket_connect(WS, headers=mp.login()) as ws:
        ws.send_text("not json")
        assert _next(ws, "error")["error"]["code"] == "bad_frame"
        ws.send_json({"type": "message", "id": "short", "text": "你好"})
        assert _next(ws, "error")["error"]["code"] == "bad_frame"
        ws.send_json({"type": "message", "id": "ws-empty-0001", "text": "  "})
        err = _next(ws, "error")
        assert err["id"] == "ws-empty-0001" and err["error"]["code"] == "empty_text"
        ws.send_json({"type": "message", "id": "ws-fine-0001", "text": "你好"})
        assert _next(ws, "sent")["id"] == "ws-fine-0001"


def test_no_token_a_bad_token_or_a_logout_closes_with_4401(mp: MP) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            mp.client.websocket_connect(WS, headers=headers) as ws,
        ):
            ws.receive_json()
        assert closed.value.code == 4401
    headers = mp.login()
    url = f"{WS}?after=99999999999.0"
    with pytest.raises(WebSocketDisconnect) as bad, mp.client.websocket_connect(url, headers=headers) as ws:
        ws.receive_json()
    assert bad.value.code == 4400
    with mp.client.websocket_connect(WS, headers=headers) as ws:
        assert mp.client.post(f"{API}/auth/logout", headers=headers).status_code == 200
        with pytest.raises(WebSocketDisconnect) as ended:
            for _ in range(5):
                ws.receive_json()
        assert ended.value.code == 4401
