"""A supervisor takes over a live bot conversation from the dashboard, in a real browser: the customer
chatting with the bot (through the real webhook) is listed under 正在和机器人聊; 查看 shows the
transcript; 接管 opens the chat in the console; the customer gets the take-over line and then the
supervisor's reply through the fake WeChat customer-service API, and the bot stays quiet meanwhile."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import Browser, expect

from backend.handoff.console_views import customer_label_for
from tests.browser.conftest import Live
from tests.support.live import wait_for

TIMEOUT_MS = 15_000
FAQ = "住院一天赔多少钱"


def _texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str((m.get("text") or {}).get("content", "")) for m in messages)


def test_supervisor_takes_over_a_bot_chat_and_the_customer_gets_the_reply(live: Live,
                                                                          chromium: Browser) -> None:
    page = chromium.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    openid = "oTake" + uuid.uuid4().hex[:16]
    answer = live.customer_says(openid, FAQ)
    assert "Encrypt" in answer.text  # the bot answered (a passive reply)
    live.login(page, "supervisor", "/console/dashboard")

    row = page.locator("#bot-chats tr.bot-chat", has_text=customer_label_for("official_account", openid))
    expect(row).to_be_visible()
    row.locator("button.view").click()
    expect(page.locator("#bot-chat-lines")).to_contain_text(FAQ)
    page.click("#bot-chat-take")
    page.wait_for_url(re.compile(r"/console/#c=\d+"))
    expect(page.locator("#chat-status")).to_have_text("服务中")
    told = "工作人员为您服务"
    assert wait_for(lambda: told in _texts(live.sent_to(openid)), timeout=10), live.sent_to(openid)

    quiet = live.customer_says(openid, FAQ)  # asked again: for the person now, not the bot
    assert quiet.text == "success"
    expect(page.locator("#messages")).to_contain_text(FAQ)
    reply = "您好，我是主管老王，住院津贴每天30元，我帮您查一下您的保单。"
    page.fill("#reply", reply)
    page.keyboard.press("Control+Enter")
    assert wait_for(lambda: reply in _texts(live.sent_to(openid)), timeout=10), live.sent_to(openid)
