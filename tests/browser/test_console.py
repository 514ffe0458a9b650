"""The agent console and the supervisor dashboard in a real browser against the real service.

a) a customer's 转人工 reaches the console queue; the agent takes it, replies (the fake WeChat API
   receives the customer-service message), closes; the satisfaction question goes out and the
   customer's "5" is recorded;
b) two agents race to take one chat: one wins, the other is told plainly (A-06);
c) the 3-minute timer (test clock) marks a waiting chat breached: red in the supervisor's at-risk list.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from backend.db import session_scope
from backend.handoff.models import HandoffRequest
from tests.browser.conftest import Live
from tests.support.live import wait_for

TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)


def _openid() -> str:
    return "oBrowser" + uuid.uuid4().hex[:16]


def _handoff(live: Live, openid: str) -> HandoffRequest | None:
    with session_scope(live.runtime.sessions) as db:
        row = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == openid)
                         .order_by(HandoffRequest.id.desc())).first()
        if row is not None:
            db.expunge(row)
        return row


def _queued(live: Live, openid: str) -> int:
    live.customer_says(openid, "转人工")
    assert wait_for(lambda: _handoff(live, openid) is not None, timeout=10), live.log.read_text()[-3000:]
    row = _handoff(live, openid)
    assert row is not None and row.status == "queued", row and row.status
    return row.id


def _texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str((m.get("text") or {}).get("content", "")) for m in messages)


def _item(page: Page, list_id: str, handoff_id: int) -> Any:
    return page.locator(f"#{list_id} .item[data-id='{handoff_id}']")


def test_handoff_take_reply_close_and_rating_through_the_console(live: Live, chromium: Browser) -> None:
    ctx = chromium.new_context()
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    live.login(page, "agent")
    openid = _openid()
    hid = _queued(live, openid)

    item = _item(page, "queue", hid)
    expect(item).to_be_visible()  # arrived over the live socket (or the list reload)
    expect(item).to_have_class(re.compile(r"sla-ok"))
    item.click()
    expect(page.locator("#chat-status")).to_have_text("排队中")
    # the customer's own words, with the bot's turns
    expect(page.locator("#messages")).to_contain_text("转人工")
    page.click("#take")
    expect(page.locator("#chat-status")).to_have_text("服务中")
    expect(_item(page, "mine", hid)).to_be_visible()

    reply = "您好，我是人工客服小陈，请问有什么可以帮您？"
    page.fill("#reply", reply)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#messages .msg-agent")).to_contain_text(reply)
    assert wait_for(lambda: reply in _texts(live.sent_to(openid)), timeout=10), live.sent_to(openid)

    # canned replies: "/" opens the picker, Enter takes the first hit
    page.fill("#reply", "")
    page.type("#reply", "/结束")
    expect(page.locator("#canned")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#reply")).to_have_value(re.compile("祝您身体健康"))
    page.fill("#reply", "")

    page.locator("#messages").click()  # out of the text box: E closes
    page.keyboard.press("e")
    expect(page.locator("#close-dialog")).to_be_visible()
    page.fill("#close-form [name=summary]", "客户咨询理赔材料，已说明。")
    page.click("#close-form button[type=submit]")
    expect(page.locator("#chat-status")).to_have_text("已结束")
    assert wait_for(lambda: "打分" in _texts(live.sent_to(openid)), timeout=10), live.sent_to(openid)

    live.customer_says(openid, "5")
    assert wait_for(lambda: (_handoff(live, openid) or HandoffRequest()).rating == 5, timeout=10)
    ctx.close()


def test_two_agents_race_to_take_one_chat_one_wins_other_told__a_06(live: Live, chromium: Browser) -> None:
    pages = []
    for _ in range(2):
        page = chromium.new_context().new_page()
        page.set_default_timeout(TIMEOUT_MS)
        live.login(page, "agent")
        pages.append(page)
    hid = _queued(live, _openid())
    for page in pages:
        _item(page, "queue", hid).click()
        expect(page.locator("#take")).to_be_visible()
    # both press 接入 at once (neither page has heard of the other's take yet)
    for page in pages:
        page.evaluate("() => { window.__go = () => document.querySelector('#take').click(); }")
    for page in pages:
        page.evaluate("() => window.__go()")
    statuses = []
    for page in pages:
        expect(page.locator("#chat-status")).not_to_have_text("排队中")
        statuses.append(page.locator("#toast").text_content() or "")
    winners = [p for p in pages if p.locator("#send").is_enabled()]
    assert len(winners) == 1, statuses
    loser = next(p for p in pages if p not in winners)
    expect(loser.locator("#toast")).to_contain_text("已")  # e.g. "这个会话已被其他同事接入"
    expect(loser.locator("#toast")).to_have_class(re.compile("error"))
    row = _handoff_by_id(live, hid)
    assert row.status == "agent" and row.agent_id is not None
    for page in pages:
        page.context.close()


def _handoff_by_id(live: Live, hid: int) -> HandoffRequest:
    with session_scope(live.runtime.sessions) as db:
        row = db.get(HandoffRequest, hid)
        assert row is not None
        db.expunge(row)
        return row


def test_supervisor_sees_the_breach_red_in_the_at_risk_list_after_3_minutes(
        live: Live, chromium: Browser) -> None:
    page = chromium.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    live.login(page, "supervisor", "/console/dashboard")
    hid = _queued(live, _openid())
    live.advance(181)  # the service's test clock: API and worker
    breached = wait_for(lambda: _handoff_by_id(live, hid).breached_at is not None, timeout=15)
    assert breached, live.log.read_text()[-3000:]
    row = page.locator(f"#at-risk tr.risk[data-id='{hid}']")
    expect(row).to_be_visible()
    expect(row).to_have_class(re.compile("sla-breach"))
    expect(row).to_contain_text("已超时")
    expect(page.locator("#t-breaches")).not_to_have_text("0")
    # the supervisor takes it from the at-risk list
    row.locator("button.take").click()
    expect(page.locator("#toast")).to_contain_text("已接入")
    assert _handoff_by_id(live, hid).status == "agent"
    page.context.close()
