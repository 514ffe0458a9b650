"""The whole job in two browsers against the real service (local mode): the customer's chat page and
the agent console, logged in as the demo agent that the service's start-up created.

The customer says 你好 and gets the bot's answer, then 转人工 (the service's clock is inside service
hours); the agent sees the chat in the queue, takes it and answers; the page shows the answer; the
agent closes the chat; the page shows the satisfaction question, the customer answers 5 and the
rating is recorded on the handoff request.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from backend.db import session_scope
from backend.handoff.models import HandoffRequest
from backend.staff.startup import DEMO_PASSWORD, demo_logins
from backend.webchat.service import customer_id
from tests.browser.conftest import Live
from tests.support.live import wait_for

TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)


def _customer_says(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.click("#send")
    expect(page.locator("#send")).to_be_enabled()
    expect(page.locator("#error")).to_be_hidden()


def _handoff(live: Live, user_id: str) -> HandoffRequest | None:
    with session_scope(live.runtime.sessions) as db:
        row = db.scalars(select(HandoffRequest).where(HandoffRequest.channel == "web",
                                                      HandoffRequest.user_id == user_id)
                         .order_by(HandoffRequest.id.desc())).first()
        if row is not None:
            db.expunge(row)
        return row


def _demo_agent_login(live: Live, page: Page) -> None:
    with session_scope(live.runtime.sessions) as db:
        [agent] = [d for d in demo_logins(db, cipher=live.runtime.cipher) if d.username == "demo.agent"]
    page.goto(live.base + "/console/")
    page.fill("#login-form [name=username]", agent.username)
    page.fill("#login-form [name=password]", DEMO_PASSWORD)
    page.fill("#login-form [name=totp]", agent.code(live.clock()))
    page.click("#login-submit")
    expect(page.locator("#app"), page.locator("#login-error").inner_text()).to_be_visible()


def test_customer_page_to_agent_and_back_with_the_rating(live: Live, chromium: Browser) -> None:
    customer = chromium.new_context(viewport={"width": 390, "height": 844})  # a phone
    chat = customer.new_page()
    chat.set_default_timeout(TIMEOUT_MS)
    chat.goto(live.base + "/chat/")
    [cookie] = [c for c in customer.cookies() if c["name"] == "cs_chat"]
    secret = live.runtime.settings.auth.session_secret.get_secret_value()  # the service's (local default)
    user_id = customer_id(cookie["value"], secret=secret)
    lines = chat.locator("#messages")

    _customer_says(chat, "你好")
    expect(lines.locator(".msg-customer").last).to_have_text("你好")
    expect(lines.locator(".msg-bot[data-id]")).not_to_have_count(0)  # the engine's answer

    _customer_says(chat, "转人工")
    assert wait_for(lambda: _handoff(live, user_id) is not None, timeout=10), live.log.read_text()[-3000:]
    row = _handoff(live, user_id)
    assert row is not None and row.status == "queued", row and row.status

    agent = chromium.new_context().new_page()
    agent.set_default_timeout(TIMEOUT_MS)
    _demo_agent_login(live, agent)
    item = agent.locator(f"#queue .item[data-id='{row.id}']")
    expect(item).to_be_visible()
    item.click()
    expect(agent.locator("#chat-status")).to_have_text("排队中")
    expect(agent.locator("#messages")).to_contain_text("转人工")
    agent.click("#take")
    expect(agent.locator("#chat-status")).to_have_text("服务中")

    answer = "您好，我是客服小林"
    agent.fill("#reply", answer)
    agent.keyboard.press("Control+Enter")
    expect(agent.locator("#messages .msg-agent")).to_contain_text(answer)
    expect(lines.locator(".msg-agent")).to_have_text(answer)  # delivered to the page

    agent.click("#close-open")
    expect(agent.locator("#close-dialog")).to_be_visible()
    agent.fill("#close-form [name=summary]", "客户想找人工，已问候。")
    agent.click("#close-form button[type=submit]")
    expect(agent.locator("#chat-status")).to_have_text("已结束")

    expect(lines.locator(".msg-system")).to_contain_text("打分")  # the satisfaction question
    _customer_says(chat, "5")
    recorded = wait_for(lambda: (_handoff(live, user_id) or HandoffRequest()).rating == 5, timeout=10)
    assert recorded, f"rating not recorded; the page shows: {lines.inner_text()[-300:]!r}"
    customer.close()
    agent.context.close()
