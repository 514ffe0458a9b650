"""Two controls the product spec names, in a real browser against the real service.

- The supervisor sets an agent's capacity (concurrent chats, 1–20) on the dashboard's agents list with
  − / +: the list and the database show the new N at once, the change is audited, and the buttons stop
  at the bounds.
- A supervisor reading a customer's chat reveals the phone number of the customer's claim with 查看:
  a reason is asked (为什么要查看？), a too-short one is refused with the server's Chinese message, the
  clear number shows, and it is masked again when another chat is opened and after a minute; the audit
  log holds the reveal with its reason (numbers in the reason masked, as the product stores reasons).
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect
from sqlalchemy import select

from backend.audit.models import AuditRecord
from backend.claims import service as claims_svc
from backend.db import session_scope
from backend.handoff.agents import heartbeat
from backend.handoff.models import AgentProfile
from backend.security.masking import scrub_text
from tests.browser.conftest import Live
from tests.browser.test_console import TIMEOUT_MS, _item, _openid, _queued
from tests.support.live import wait_for

PHONE = "13812345678"


def _capacity(live: Live, staff_id: int) -> int | None:
    with session_scope(live.runtime.sessions) as db:
        return db.scalar(select(AgentProfile.capacity).where(AgentProfile.staff_id == staff_id))


def test_supervisor_changes_an_agents_capacity_on_the_dashboard(live: Live, chromium: Browser) -> None:
    name, _secret, agent_id = live.staff("agent")
    with session_scope(live.runtime.sessions, write=True) as db:
        db.add(AgentProfile(staff_id=agent_id, capacity=3, state="online"))
    heartbeat(live.redis, agent_id, live.clock())
    ctx = chromium.new_context()
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    live.login(page, "supervisor", path="/console/dashboard")

    row = page.locator("#agents tbody tr", has_text=name)
    load = row.locator("td.load .load-text")
    expect(load).to_have_text("0/3")
    row.get_by_role("button", name=f"{name} 同时接待数改为 4").click()
    expect(load).to_have_text("0/4")
    assert wait_for(lambda: _capacity(live, agent_id) == 4, timeout=5)
    expect(page.locator("#toast")).to_contain_text("同时接待数已改为 4")
    row.get_by_role("button", name=f"{name} 同时接待数改为 3").click()
    row.get_by_role("button", name=f"{name} 同时接待数改为 2").click()
    expect(load).to_have_text("0/2")
    assert wait_for(lambda: _capacity(live, agent_id) == 2, timeout=5)
    with session_scope(live.runtime.sessions) as db:
        audited = list(db.scalars(select(AuditRecord.purpose).where(
            AuditRecord.action == "handoff.capacity", AuditRecord.object_id == str(agent_id))))
    assert audited == ["4", "3", "2"]

    # the bounds (1–20): the button past them is disabled
    with session_scope(live.runtime.sessions, write=True) as db:
        profile = db.get(AgentProfile, agent_id)
        assert profile is not None
        profile.capacity = 20
    expect(load).to_have_text("0/20")  # the list reloads every 5 s
    expect(row.locator("button.capacity.more")).to_be_disabled()
    expect(row.locator("button.capacity.less")).to_be_enabled()
    ctx.close()


def test_supervisor_reveals_a_customers_phone_in_the_chat_view_with_a_reason(live: Live,
                                                                             chromium: Browser) -> None:
    from tests.backend.claims.support import calendar, report_kwargs

    ctx = chromium.new_context()
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.clock.install()  # the page's timers run with the wall clock until fast-forwarded
    live.login(page, "supervisor")
    openid, other = _openid(), _openid()
    hid = _queued(live, openid)
    other_hid = _queued(live, other)
    with session_scope(live.runtime.sessions, write=True) as db:
        claim = claims_svc.report_claim(db, cipher=live.runtime.cipher, catalog=live.runtime.catalog,
                                        calendar=calendar(), **report_kwargs(reporter_openid=openid,
                                                                             reporter_phone=PHONE,
                                                                             now=live.clock()))
        db.flush()
        claim_id, case_no = claim.id, claim.case_no

    _item(page, "queue", hid).click()
    phone = page.locator(f"#claims li.claim[data-claim-id='{claim_id}'] .private[data-field=reporter_phone]")
    expect(phone.locator(".value")).to_have_text("138****5678")
    phone.get_by_role("button", name="查看报案人电话").click()
    dialog = page.locator("#reveal-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("为什么要查看？")
    expect(page.locator("#reveal-what")).to_contain_text(case_no)
    reason = dialog.locator("[name=reason]")
    reason.fill("核对")  # too short: the server's plain Chinese refusal, in the dialog
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#reveal-error")).to_contain_text("请写明查看原因")
    expect(phone.locator(".value")).to_have_text("138****5678")
    why = f"客户来电核对报案电话{PHONE}是否本人"
    reason.fill(why)
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(phone.locator(".value")).to_have_text(PHONE)
    expect(phone.get_by_role("button", name="查看报案人电话")).to_have_count(0)

    with session_scope(live.runtime.sessions) as db:
        rows = list(db.scalars(select(AuditRecord).where(
            AuditRecord.action == "reveal", AuditRecord.object_type == "claim",
            AuditRecord.object_id == str(claim_id), AuditRecord.field == "reporter_phone")))
    assert sorted(r.result for r in rows) == ["ok", "refused: reason_required"]
    [ok] = [r for r in rows if r.result == "ok"]
    assert ok.purpose == scrub_text(why) and PHONE not in (ok.purpose or "")
    assert re.search(r"138\*+5678", ok.purpose or "")

    # another chat opened: masked again, and coming back does not bring the clear number back
    _item(page, "queue", other_hid).click()
    expect(page.locator("#chat")).to_have_attribute("data-id", str(other_hid))
    _item(page, "queue", hid).click()
    expect(phone.locator(".value")).to_have_text("138****5678")
    assert PHONE not in page.content()

    # revealed again: masked after a minute
    phone.get_by_role("button", name="查看报案人电话").click()
    reason.fill("客户再次来电核对号码")
    dialog.locator("button[type=submit]").click()
    expect(phone.locator(".value")).to_have_text(PHONE)
    page.clock.fast_forward("01:01")
    expect(phone.locator(".value")).to_have_text("138****5678")
    assert PHONE not in page.content()
    ctx.close()
