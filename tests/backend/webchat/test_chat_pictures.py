"""A picture an agent sends reaches the web chat customer: the poll lists it once delivered, and only
the customer's own chat cookie opens it (never a public URL to a customer's file)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backend.db import session_scope
from backend.handoff import console, pictures
from backend.handoff.service import request_handoff
from backend.runtime import Runtime
from tests.backend.staff.helpers import make_staff
from tests.backend.storage import images
from tests.backend.webchat.test_chat_api import _open_page, _poll, _run_due_deliveries, _user


def test_the_customer_sees_the_agents_picture_and_no_one_else_can_open_it(
        client: TestClient, runtime: Runtime) -> None:
    cookie = _open_page(client)
    user = _user(runtime, cookie)
    now = runtime.clock()
    with session_scope(runtime.sessions) as s:
        agent = make_staff(s, runtime.cipher, "picagent", "agent", now=now).staff.id
        hid = request_handoff(s, channel="web", user_id=user, reason="asked", cipher=runtime.cipher,
                              now=now).id
        console.take(s, handoff_id=hid, staff_id=agent, now=now)
    before = _poll(client)
    with session_scope(runtime.sessions) as s:
        msg = pictures.send_picture(s, handoff_id=hid, staff_id=agent, chunks=[images.jpeg()],
                                    store=runtime.file_store, now=now, cipher=runtime.cipher)
        msg_id, key = msg.id, msg.attachment_key
    url = f"/chat/api/pictures/{msg_id}"
    assert client.get(url).status_code == 404  # not delivered yet: not shown, not served
    assert _poll(client, before["cursor"])["items"] == []
    assert _run_due_deliveries(runtime) == 1
    [item] = _poll(client, before["cursor"])["items"]
    assert item["role"] == "agent" and item["image"] == url and item["text"]
    got = client.get(url)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.content == runtime.file_store.read_all(key or "")  # type: ignore[attr-defined]
    assert images.GPS_MAKER.encode() not in got.content
    # another customer, and no cookie at all, cannot open it
    client.cookies.clear()
    _open_page(client)
    r = client.get(url)
    assert r.status_code == 404 and r.json()["error"]["code"] == "picture_not_found"
    client.cookies.clear()
    assert client.get(url).status_code == 401
