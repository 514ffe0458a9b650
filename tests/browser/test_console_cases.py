"""The chat view's case actions in a real browser against the real service: the agent opens a chat,
files a complaint from the side panel (prefilled from what the customer wrote, the phone taken from the
chat without showing it in clear), sees its number and deadlines, sends the number to the customer with
one click (the fake WeChat API receives it), and closing then defaults to "已建投诉"; an amount above the
second-approval limit proposed in the chat is confirmed by a second supervisor watching it, live."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import Browser, expect
from sqlalchemy import select

from backend.claims.models import Claim
from backend.complaints.models import Complaint
from backend.db import session_scope
from tests.browser.conftest import Live
from tests.browser.test_console import TIMEOUT_MS, _handoff, _item, _openid, _queued, _texts
from tests.support.live import wait_for

PHONE = "13812345678"
# Amounts above 50 yuan wait for a second approver (a hospital allowance pays at most 2700 yuan a stay).
LIVE_ENV = {"CS_CLAIMS__SECOND_APPROVAL_ABOVE_YUAN": "50"}


def _complaint_no(live: Live, openid: str) -> str | None:
    with session_scope(live.runtime.sessions) as db:
        return db.scalar(select(Complaint.complaint_no).where(Complaint.openid == openid))


def test_agent_files_a_complaint_from_the_side_panel_and_sees_its_number(live: Live,
                                                                          chromium: Browser) -> None:
    ctx = chromium.new_context()
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    live.login(page, "agent")
    openid = _openid()
    hid = _queued(live, openid)
    live.customer_says(openid, f"理赔拖了两个月还没到账，太慢了，我电话{PHONE}")

    _item(page, "queue", hid).click()
    expect(page.locator("#messages")).to_contain_text("理赔拖了两个月")
    expect(page.locator("#complaint-open")).to_be_disabled()  # not the agent's chat yet
    page.click("#take")
    expect(page.locator("#chat-status")).to_have_text("服务中")
    expect(page.locator("#complaint-open")).to_be_enabled()

    page.locator("#messages").click()  # out of the text box: C opens the complaint form
    page.keyboard.press("c")
    expect(page.locator("#complaint-dialog")).to_be_visible()
    form = page.locator("#complaint-form")
    expect(form.locator("[name=content]")).to_have_value(re.compile("理赔拖了两个月"))
    expect(form.locator("[name=category]")).to_have_value("claim_speed")
    expect(page.locator("#complaint-chat-phone")).to_contain_text("138****5678")
    # the prefill carries no clear phone (the server takes the real one from the chat)
    assert PHONE not in form.locator("[name=content]").input_value()
    assert form.locator("[name=contact_phone]").input_value() == ""
    form.locator("button[type=submit]").click()

    expect(page.locator("#complaint-dialog")).to_be_hidden()
    number = page.locator("#case-number")
    expect(number).to_have_text(re.compile(r"^TS\d+$"))
    shown = number.inner_text()
    assert _complaint_no(live, openid) == shown
    expect(page.locator("#case-result")).to_contain_text("答复期限")
    expect(page.locator("#complaints")).to_contain_text(shown)

    # one click: the confirmation goes out as the agent's reply, through the fake WeChat API
    page.click("#case-confirm")
    assert wait_for(lambda: shown in _texts(live.sent_to(openid)), timeout=10), live.sent_to(openid)

    # a server error is shown in plain Chinese in the form
    page.locator("#messages").click()
    page.keyboard.press("c")
    form.locator("[name=use_chat_phone]").uncheck()
    form.locator("[name=contact_phone]").fill("12345")
    form.locator("button[type=submit]").click()
    expect(page.locator("#complaint-error")).to_contain_text("电话号码不对")
    page.locator("#complaint-dialog button.cancel").click()

    # closing now defaults to "已建投诉"
    page.locator("#messages").click()
    page.keyboard.press("e")
    expect(page.locator("#close-dialog")).to_be_visible()
    expect(page.locator("#close-form [name=disposition]")).to_have_value("complaint_created")
    page.fill("#close-form [name=summary]", "客户投诉理赔太慢，已登记投诉。")
    page.click("#close-form button[type=submit]")
    expect(page.locator("#chat-status")).to_have_text("已结束")
    row = _handoff(live, openid)
    assert row is not None and row.disposition == "complaint_created"
    ctx.close()


def test_supervisor_reports_a_claim_from_the_chat_and_moves_it_as_the_role_allows(
        live: Live, chromium: Browser) -> None:
    from tests.backend.claims.support import make_id

    ctx = chromium.new_context()
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    live.login(page, "supervisor")
    openid = _openid()
    hid = _queued(live, openid)
    live.customer_says(openid, f"我妈在家摔倒住院了，我电话{PHONE}")
    _item(page, "queue", hid).click()
    page.click("#take")
    expect(page.locator("#claim-open")).to_be_enabled()

    page.locator("#messages").click()
    page.keyboard.press("b")
    expect(page.locator("#claim-dialog")).to_be_visible()
    form = page.locator("#claim-form")
    expect(form.locator("[name=description]")).to_have_value(re.compile("摔倒住院"))
    form.locator("[name=insured_name]").fill("陈阿婆")
    form.locator("[name=insured_id_number]").fill(make_id("44051419400202123"))
    form.locator("[name=reporter_relation]").select_option("mother")
    form.locator("[name=accident_type]").select_option("fall")
    form.locator("[name=accident_date]").fill((live.clock() - dt.timedelta(days=3)).date().isoformat())
    form.locator("button[type=submit]").click()
    # without the customer's consent confirmed, the server's plain Chinese refusal shows in the form
    expect(page.locator("#claim-error")).to_contain_text("客户同意")
    form.locator("[name=consent_confirmed]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("#claim-dialog")).to_be_hidden()
    number = page.locator("#case-number")
    expect(number).to_have_text(re.compile(r"^LP\d+$"))
    case_no = number.inner_text()

    # the moves the supervisor's role allows from 已报案, offered by the server
    claim = page.locator("#claims li.claim", has_text=case_no)
    expect(claim.locator(".moves button")).to_have_count(2)
    claim.locator("button[data-to=materials_pending]").click()
    expect(page.locator("#move-dialog")).to_be_visible()
    page.locator("#move-form button[type=submit]").click()
    expect(page.locator("#move-dialog")).to_be_hidden()
    expect(page.locator("#claims li.claim", has_text=case_no)).to_contain_text("等待材料")
    with session_scope(live.runtime.sessions) as db:
        assert db.scalar(select(Claim.state).where(Claim.case_no == case_no)) == "materials_pending"
    ctx.close()


def test_a_colleagues_new_complaint_shows_in_the_side_panel_without_a_reload(live: Live,
                                                                              chromium: Browser) -> None:
    """A supervisor watching an agent's chat sees the complaint the agent files there, live."""
    agent_ctx, boss_ctx = chromium.new_context(), chromium.new_context()
    agent, boss = agent_ctx.new_page(), boss_ctx.new_page()
    for page in (agent, boss):
        page.set_default_timeout(TIMEOUT_MS)
    live.login(agent, "agent")
    openid = _openid()
    hid = _queued(live, openid)
    live.customer_says(openid, f"理赔拖了两个月还没到账，太慢了，我电话{PHONE}")
    _item(agent, "queue", hid).click()
    agent.click("#take")
    expect(agent.locator("#complaint-open")).to_be_enabled()

    live.login(boss, "supervisor", path=f"/console/#c={hid}")
    expect(boss.locator("#messages")).to_contain_text("理赔拖了两个月")
    expect(boss.locator("#complaints")).to_have_text("无")

    agent.locator("#messages").click()
    agent.keyboard.press("c")
    agent.locator("#complaint-form button[type=submit]").click()
    expect(agent.locator("#case-number")).to_have_text(re.compile(r"^TS\d+$"))
    shown = agent.locator("#case-number").inner_text()

    expect(boss.locator("#complaints")).to_contain_text(shown)  # no reload, no click
    agent_ctx.close()
    boss_ctx.close()


def _claim_under_review(live: Live, openid: str, accident: dt.date) -> str:
    """A hospital-allowance claim the chat's customer reported, with its materials in: under review."""
    from backend.claims import service as claims_svc
    from tests.backend.claims.support import calendar, report_kwargs

    with session_scope(live.runtime.sessions) as db:
        now = live.clock()
        claim = claims_svc.report_claim(db, cipher=live.runtime.cipher, catalog=live.runtime.catalog,
                                        calendar=calendar(), **report_kwargs(reporter_openid=openid,
                                                                             accident_date=accident, now=now))
        db.flush()
        claims_svc.transition_claim(db, cipher=live.runtime.cipher, calendar=calendar(), claim_id=claim.id,
                                    to_state="materials_pending", actor="staff:1", reason=None, now=now)
        for m in claim.materials:
            m.received = True
        claims_svc.transition_claim(db, cipher=live.runtime.cipher, calendar=calendar(), claim_id=claim.id,
                                    to_state="under_review", actor="staff:1", reason=None, now=now)
        return claim.case_no


def test_a_second_supervisor_confirms_a_large_amount_and_the_proposer_sees_it_live(
        live: Live, chromium: Browser) -> None:
    """Supervisor A proposes 90 yuan in the chat (above the limit: pending); supervisor B, watching the
    same chat, sees it and confirms it; A's panel shows the approved amount without a reload."""
    a_ctx, b_ctx = chromium.new_context(), chromium.new_context()
    a, b = a_ctx.new_page(), b_ctx.new_page()
    for page in (a, b):
        page.set_default_timeout(TIMEOUT_MS)
    live.login(a, "supervisor")
    openid = _openid()
    hid = _queued(live, openid)
    live.customer_says(openid, "我妈住院三天，津贴什么时候到？")
    accident = live.clock().date() - dt.timedelta(days=5)
    case_no = _claim_under_review(live, openid, accident)
    _item(a, "queue", hid).click()
    a.click("#take")
    a_claim = a.locator("#claims li.claim", has_text=case_no)
    a_claim.locator("button[data-to=approved]").click()
    form = a.locator("#move-form")
    form.locator("[name=amount_yuan]").fill("90")  # 3 days × 30 yuan
    form.locator("[name=admission]").fill(accident.isoformat())
    form.locator("[name=discharge]").fill((accident + dt.timedelta(days=2)).isoformat())
    form.locator("button[type=submit]").click()
    expect(a.locator("#move-dialog")).to_be_hidden()
    expect(a_claim.locator(".approval")).to_contain_text("待复核：核定 90元")
    expect(a_claim.locator(".approval")).to_contain_text("等待另一位同事复核")  # not one's own amount
    expect(a_claim.locator(".approval button")).to_have_count(0)

    live.login(b, "supervisor", path=f"/console/#c={hid}")
    b_claim = b.locator("#claims li.claim", has_text=case_no)
    approval = b_claim.locator(".approval")
    expect(approval).to_contain_text("待复核：核定 90元（按条款算 90元，最高 2700元）")
    # sending it back needs a reason: the server's plain Chinese refusal shows in the panel
    approval.get_by_role("button", name="退回").click()
    expect(approval.locator(".approval-error")).to_have_text("请填写退回的原因")
    approval.locator("[name=amount_yuan]").fill("90")
    approval.get_by_role("button", name="复核通过").click()
    expect(b_claim).to_contain_text("已核定 90元")

    expect(a_claim).to_contain_text("已核定 90元")  # no reload, no click
    expect(a_claim.locator(".approval")).to_have_count(0)
    with session_scope(live.runtime.sessions) as db:
        claim = db.scalar(select(Claim).where(Claim.case_no == case_no))
        assert claim is not None and claim.state == "approved" and claim.approved_amount_fen == 9_000
    a_ctx.close()
    b_ctx.close()
