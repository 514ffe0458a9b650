"""An agent sends pictures from the console in a real browser (issue 10): one chosen with the attach
button, one pasted into the reply box (and one dropped, then cancelled); each is previewed, sent,
shown in the history as a thumbnail loaded through the console's logged-in route, marked delivered,
and the customer receives it through the fake WeChat API (temporary media + an image message)
without its GPS metadata."""

from __future__ import annotations

import base64
import io
import re
import threading
import time
from collections.abc import Iterator

import httpx
from PIL import Image
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from backend.audit.models import AuditRecord
from backend.db import session_scope
from backend.handoff.models import HandoffMessage
from backend.webchat.service import customer_id
from tests.backend.staff.helpers import PASSWORD, code_at
from tests.backend.storage import images
from tests.browser.conftest import Live
from tests.browser.test_console import TIMEOUT_MS, _item, _openid, _queued
from tests.browser.test_webchat import _customer_says
from tests.browser.test_webchat import _handoff as _web_handoff
from tests.support.live import wait_for


def _pictures(live: Live, hid: int) -> list[HandoffMessage]:
    with session_scope(live.runtime.sessions) as db:
        return list(db.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == hid,
                                                            HandoffMessage.kind == "image")))


def _picture_reads(live: Live, hid: int, msg_id: int) -> int:
    with session_scope(live.runtime.sessions) as db:
        return len(db.scalars(select(AuditRecord).where(AuditRecord.object_id == str(hid),
                                                        AuditRecord.field == f"picture:{msg_id}")).all())


def _received(live: Live, openid: str) -> list[bytes]:
    return live.wechat.images_sent(openid)


def test_agent_attaches_and_pastes_pictures_and_the_customer_receives_them(live: Live,
                                                                           chromium: Browser) -> None:
    ctx = chromium.new_context()
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    live.login(page, "agent")
    openid = _openid()
    hid = _queued(live, openid)
    _item(page, "queue", hid).click()
    # not the agent's chat yet: no picture can be chosen
    page.set_input_files("#picture-input", files=[{"name": "a.png", "mimeType": "image/png",
                                                   "buffer": images.png()}])
    expect(page.locator("#picture-preview")).to_be_hidden()
    page.click("#take")
    expect(page.locator("#chat-status")).to_have_text("服务中")

    # 1. the attach button's file input: a PNG with location text in it
    png = images.png()
    page.set_input_files("#picture-input", files=[{"name": "site.png", "mimeType": "image/png",
                                                   "buffer": png}])
    expect(page.locator("#picture-preview")).to_be_visible()
    expect(page.locator("#picture-thumb")).to_have_attribute("src", re.compile(r"^data:image/png"))
    page.click("#send")
    expect(page.locator("#picture-preview")).to_be_hidden()
    first = page.locator("#messages .msg-agent.msg-picture").first
    expect(first.locator("img.thumb")).to_be_visible()
    assert wait_for(lambda: len(_received(live, openid)) == 1, timeout=15), live.wechat.sent[-3:]
    got = _received(live, openid)[0]
    assert images.GPS_MAKER.encode() not in got and Image.open(io.BytesIO(got)).size == (40, 30)
    expect(first.locator(".meta")).to_contain_text("已送达")
    thumb = first.locator("img.thumb")
    assert wait_for(lambda: thumb.evaluate("img => img.complete && img.naturalWidth") == 40, timeout=10)
    # the thumbnail came through the console's authenticated, audited route, once: the history is
    # redrawn on live events without loading the picture again
    [msg_id] = [m.id for m in _pictures(live, hid)]
    time.sleep(0.5)
    assert _picture_reads(live, hid, msg_id) == 1

    # 2. pasted into the reply box: a JPEG with GPS in its EXIF
    jpeg = images.jpeg()
    page.focus("#reply")
    page.evaluate("""(b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "photo.jpg", { type: "image/jpeg" }));
        const ev = new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true });
        document.querySelector("#reply").dispatchEvent(ev);
    }""", base64.b64encode(jpeg).decode())
    expect(page.locator("#picture-preview")).to_be_visible()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#messages .msg-agent.msg-picture")).to_have_count(2)
    assert wait_for(lambda: len(_received(live, openid)) == 2, timeout=15), live.wechat.sent[-3:]
    got = _received(live, openid)[1]
    assert images.GPS_MAKER.encode() not in got
    assert Image.open(io.BytesIO(got)).getexif().get_ifd(0x8825) == {}
    sent = [m for m in live.sent_to(openid) if m.get("msgtype") == "image"]
    assert len(sent) == 2 and all(m["image"]["media_id"] for m in sent)

    # 3. dropped on the reply area: previewed; "不发这张" drops it and nothing goes out
    page.evaluate("""(b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
        const zone = document.querySelector(".compose");
        zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }""", base64.b64encode(images.png(8, 8)).decode())
    expect(page.locator("#picture-preview")).to_be_visible()
    expect(page.locator("#picture-info")).to_contain_text("dropped.png")
    page.click("#picture-cancel")
    expect(page.locator("#picture-preview")).to_be_hidden()
    page.fill("#reply", "图片收到了吗？")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#messages .msg-agent").last).to_contain_text("图片收到了吗？")
    expect(page.locator("#messages .msg-agent.msg-picture")).to_have_count(2)
    assert wait_for(lambda: any((m.get("text") or {}).get("content") == "图片收到了吗？"
                                for m in live.sent_to(openid)), timeout=15)
    assert len(_received(live, openid)) == 2

    # 4. a text file is refused in the page before it is sent
    page.set_input_files("#picture-input", files=[{"name": "note.png", "mimeType": "text/plain",
                                                   "buffer": b"not a picture"}])
    expect(page.locator("#toast")).to_contain_text("JPG")
    expect(page.locator("#picture-preview")).to_be_hidden()
    ctx.close()


def test_a_web_chat_customer_sees_the_agents_picture_on_the_chat_page(live: Live, chromium: Browser) -> None:
    customer = chromium.new_context(viewport={"width": 390, "height": 844})  # a phone
    chat = customer.new_page()
    chat.set_default_timeout(TIMEOUT_MS)
    chat.goto(live.base + "/chat/")
    [cookie] = [c for c in customer.cookies() if c["name"] == "cs_chat"]
    secret = live.runtime.settings.auth.session_secret.get_secret_value()  # the service's (local default)
    user_id = customer_id(cookie["value"], secret=secret)
    _customer_says(chat, "转人工")
    assert wait_for(lambda: _web_handoff(live, user_id) is not None, timeout=10), live.log.read_text()[-3000:]
    row = _web_handoff(live, user_id)
    assert row is not None

    agent_ctx = chromium.new_context()
    agent = agent_ctx.new_page()
    agent.set_default_timeout(TIMEOUT_MS)
    live.login(agent, "agent")
    _item(agent, "queue", row.id).click()
    agent.click("#take")
    expect(agent.locator("#chat-status")).to_have_text("服务中")
    agent.set_input_files("#picture-input", files=[{"name": "map.jpg", "mimeType": "image/jpeg",
                                                    "buffer": images.jpeg(120, 90, orientation=None)}])
    expect(agent.locator("#picture-preview")).to_be_visible()
    agent.click("#send")
    expect(agent.locator("#messages .msg-agent.msg-picture .meta")).to_contain_text("已送达")

    shown = chat.locator("#messages .msg-agent.msg-picture img")
    expect(shown).to_be_visible()
    assert wait_for(lambda: shown.evaluate("img => img.complete && img.naturalWidth") == 120, timeout=10)
    src = shown.get_attribute("src") or ""
    assert src.startswith("/chat/api/pictures/")
    # the address is no public link: another browser (another customer, or nobody) cannot open it
    other = chromium.new_context()
    assert other.request.get(live.base + src).status == 401
    other.new_page().goto(live.base + "/chat/")
    assert other.request.get(live.base + src).status == 404
    for c in (customer, agent_ctx, other):
        c.close()


def test_a_slow_upload_holds_no_database_lock_other_console_requests_go_on(live: Live) -> None:
    """A picture uploading slowly (an agent on a weak connection) keeps no transaction open: the same
    process answers the console's other requests meanwhile (on SQLite a write transaction holds the
    process's write lock)."""
    name, secret, _ = live.staff("agent")
    with httpx.Client(base_url=live.base, timeout=30) as client:
        r = client.post("/api/console/login", json={"username": name, "password": PASSWORD,
                                                     "totp": code_at(secret, live.clock())})
        assert r.status_code == 200, r.text
        csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
        hid = _queued(live, _openid())
        assert client.post(f"/api/console/conversations/{hid}/take", headers=csrf).status_code == 200
        boundary = "pictureboundary7d1"
        picture = images.jpeg(300, 200, noise=True)

        def slow_body() -> Iterator[bytes]:
            yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n"
                   "Content-Type: image/jpeg\r\n\r\n").encode()
            step = len(picture) // 6 + 1
            for i in range(0, len(picture), step):
                time.sleep(0.5)
                yield picture[i:i + step]
            yield f"\r\n--{boundary}--\r\n".encode()

        result: dict[str, httpx.Response] = {}
        upload = threading.Thread(target=lambda: result.setdefault("r", client.post(
            f"/api/console/conversations/{hid}/picture", content=slow_body(),
            headers={**csrf, "Content-Type": f"multipart/form-data; boundary={boundary}"})))
        upload.start()
        time.sleep(1.0)  # the upload is under way (checks done, body streaming)
        started = time.monotonic()
        queue = client.get("/api/console/mine")
        took = time.monotonic() - started
        still_uploading = upload.is_alive()
        upload.join(timeout=30)
        assert queue.status_code == 200 and still_uploading
        assert took < 1.5, f"the console waited {took:.1f} s for the upload"
        assert result["r"].status_code == 200, result["r"].text
