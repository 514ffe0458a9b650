"""The console's 待办 in a real browser against the real service: a customer waiting for a person asks to
be called back; the call-back shows in the agent's 待办 list (kind, the customer's words with the
number masked), the agent takes it, looks at the chat, and finishes it with 已回电 and a note: it leaves
the list and the request is closed with that outcome."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, expect
from sqlalchemy import select

from backend.db import session_scope
from backend.handoff.models import HandoffRequest
from tests.browser.conftest import Live
from tests.support.live import wait_for

TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)


def _callback(live: Live, openid: str) -> HandoffRequest | None:
    with session_scope(live.runtime.sessions) as db:
        row = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == openid,
                                                      HandoffRequest.reason == "callback")).first()
        if row is not None:
            db.expunge(row)
        return row


def test_a_call_back_left_by_a_customer_is_taken_and_finished_from_the_work_list(
        live: Live, chromium: Browser) -> None:
    ctx = chromium.new_context()
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    staff_id = live.login(page, "agent")
    openid = "oWork" + uuid.uuid4().hex[:16]
    live.customer_says(openid, "转人工")
    live.customer_says(openid, "等不及了，请给我回个电话，13812345678")
    assert wait_for(lambda: _callback(live, openid) is not None, timeout=10), live.log.read_text()[-3000:]
    row = _callback(live, openid)
    assert row is not None

    item = page.locator(f"#work .work-item[data-id='{row.id}']")
    expect(item).to_be_visible()
    expect(item.locator(".kind")).to_have_text("回电")
    expect(item.locator(".said")).to_contain_text("138****5678")
    expect(item).not_to_contain_text("13812345678")
    expect(page.locator("#work-count")).not_to_have_text("0")
    item.locator(".take-work").click()
    expect(item.locator(".who")).to_have_text("我在办")

    item.locator(".open-work").click()  # the call-back's chat: the customer's words, the agent may write
    expect(page.locator("#chat-status")).to_have_text("服务中")
    expect(page.locator("#messages")).to_contain_text("回个电话")

    item.locator(".finish-work").click()
    dialog = page.locator("#finish-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("已回电").check()
    dialog.locator("[name=note]").fill("已打电话，客户问的是报销进度，已说明")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(item).to_have_count(0)

    done = _callback(live, openid)
    assert done is not None and done.status == "closed" and done.disposition == "called_back"
    assert done.agent_id == staff_id
    ctx.close()
