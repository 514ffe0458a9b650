"""The supervisor dashboard's charts in a real browser: Apache ECharts (vendored) draws every chart from
the API's numbers, under the console's Content-Security-Policy, without a console error.

The demo supervisor (created by the service's start-up, local mode) opens the dashboard on an empty day
(each chart drawn, saying so); then the day's handoffs arrive: three earlier this morning (answered after
1, 2 and 5 minutes; the last one breached), one taken by an agent and one customer waiting now. Each
chart container holds an ECharts canvas whose option holds the API's numbers; each chart's aria-label is
its Chinese summary; the refresh and a live event update the same chart instances (setOption, never
re-created); the charts follow the window's size; no console error or warning, no CSP violation.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from backend.db import session_scope
from backend.handoff.agents import heartbeat
from backend.handoff.models import AgentProfile, HandoffRequest
from backend.staff.startup import DEMO_PASSWORD, demo_logins
from tests.browser.conftest import Live
from tests.support.live import wait_for

TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)
CHARTS = ("chart-volume", "chart-frt", "chart-agents", "chart-reasons", "chart-intents")
REASON_LABEL = {"asked": "客户要求人工", "complaint": "投诉"}
# Collects what the page's CSP refused (the event fires for every violation, reported or not).
CSP_WATCH = """window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile));"""
# What the tests compare of an ECharts instance's option (functions do not cross to Python).
OPTION = """(id) => {
  const inst = echarts.getInstanceByDom(document.getElementById(id));
  if (!inst) return null;
  const o = inst.getOption();
  return { id: inst.id, width: inst.getWidth(), aria: inst.getDom().getAttribute("aria-label"),
           title: (o.title || []).map((t) => t.show),
           x: (o.xAxis || []).map((a) => a.data || null), y: (o.yAxis || []).map((a) => a.data || null),
           series: o.series.map((s) => ({ name: s.name, type: s.type, data: s.data,
                                          markLine: s.markLine ? s.markLine.data : null })) };
}"""


def _openid() -> str:
    return "oDash" + uuid.uuid4().hex[:16]


def _day_of_handoffs(live: Live) -> tuple[str, int]:
    """Three answered handoffs this morning, one with an agent now; the agent (online, capacity 3)."""
    name, _secret, agent_id = live.staff("agent")
    now = live.clock()

    def handoff(minutes_ago: float, frt_s: float, reason: str, *, status: str = "closed",
                breached: bool = False) -> HandoffRequest:
        queued = now - dt.timedelta(minutes=minutes_ago)
        first = queued + dt.timedelta(seconds=frt_s)
        return HandoffRequest(channel="wechat", user_id=_openid(), reason=reason, status=status,
                              queued_at=queued, created_at=queued, agent_id=agent_id, assigned_at=first,
                              first_response_at=first,
                              closed_at=first + dt.timedelta(minutes=4) if status == "closed" else None,
                              breached_at=queued + dt.timedelta(minutes=3) if breached else None)

    with session_scope(live.runtime.sessions, write=True) as db:
        db.add_all([handoff(50, 60, "asked"), handoff(48, 120, "complaint"),
                    handoff(20, 300, "asked", breached=True), handoff(5, 30, "complaint", status="agent"),
                    AgentProfile(staff_id=agent_id, capacity=3, state="online")])
    heartbeat(live.redis, agent_id, now)
    return name, agent_id


def _queued(live: Live) -> None:
    """A customer asks for a person now (the real webhook: a queued handoff and the bot's turns)."""
    openid = _openid()
    live.customer_says(openid, "转人工")

    def queued() -> bool:
        with session_scope(live.runtime.sessions) as db:
            return bool(db.scalar(select(func.count()).select_from(HandoffRequest).where(
                HandoffRequest.user_id == openid, HandoffRequest.status == "queued")))
    assert wait_for(queued, timeout=10), live.log.read_text()[-3000:]


def _demo_supervisor_login(live: Live, page: Page) -> None:
    with session_scope(live.runtime.sessions) as db:
        [sup] = [d for d in demo_logins(db, cipher=live.runtime.cipher) if d.username == "demo.supervisor"]
    response = page.goto(live.base + "/console/dashboard")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp  # the policy the charts live with
    page.fill("#login-form [name=username]", sup.username)
    page.fill("#login-form [name=password]", DEMO_PASSWORD)
    page.fill("#login-form [name=totp]", sup.code(live.clock()))
    page.click("#login-submit")
    expect(page.locator("#app"), page.locator("#login-error").inner_text()).to_be_visible()


def _api(page: Page) -> dict[str, Any]:
    data: dict[str, Any] = page.evaluate(
        "() => fetch('/api/console/dashboard', {credentials: 'same-origin'}).then((r) => r.json())")
    return data


def _option(page: Page, chart: str) -> dict[str, Any]:
    option: dict[str, Any] | None = page.evaluate(OPTION, chart)
    assert option is not None, f"no ECharts instance on #{chart}"
    return option


def _series(option: dict[str, Any], name: str) -> list[Any]:
    [found] = [s for s in option["series"] if s["name"] == name]
    return [d["value"] if isinstance(d, dict) else d for d in found["data"]]


def _minutes(s: float | None) -> float | None:
    return None if s is None else round(s / 60, 1)


def _percent(x: float | None) -> float | None:
    return None if x is None else round(x * 100, 1)


def _mismatches(api: dict[str, Any], page: Page) -> list[str]:
    """Where the charts' options differ from the API's answer (empty when they agree)."""
    out = []
    volume, frt = _option(page, "chart-volume"), _option(page, "chart-frt")
    shown = len(volume["x"][0])
    tail = api["buckets"][-shown:]
    expected = {
        ("chart-volume", "转人工"): [b["handoffs"] for b in tail],
        ("chart-volume", "超时"): [b["breaches"] for b in tail],
        ("chart-volume", "3分钟内响应占比"): [_percent(b["within_3min_share"]) for b in tail],
        ("chart-frt", "P50 首次响应"): [_minutes(b["frt_p50_s"]) for b in tail],
        ("chart-frt", "P90 首次响应"): [_minutes(b["frt_p90_s"]) for b in tail],
        ("chart-reasons", "个数"): [r["count"] for r in api["reasons"]],
        ("chart-intents", "个数"): [r["count"] for r in api["top_intents"]],
        ("chart-agents", "接待中"): [a["load"] for a in api["agents"]],
        ("chart-agents", "空余"): [a["capacity"] - a["load"] for a in api["agents"]],
    }
    options = {"chart-volume": volume, "chart-frt": frt}
    for (chart, name), want in expected.items():
        got = _series(options.setdefault(chart, _option(page, chart)), name)
        got = [None if g in ("-", None) else g for g in got]
        if got != want:
            out.append(f"{chart} {name}: chart {got} != API {want}")
    if sum(_series(volume, "转人工")) != api["handoffs_today"]:
        out.append(f"the volume chart leaves out some of today's {api['handoffs_today']} handoffs")
    if options["chart-reasons"]["y"][0] != [REASON_LABEL.get(r["key"], r["key"]) for r in api["reasons"]]:
        out.append(f"reason labels {options['chart-reasons']['y'][0]} for {api['reasons']}")
    return out


def test_dashboard_charts_are_echarts_drawn_from_the_api_numbers_without_console_error_or_csp_violation(
        live: Live, chromium: Browser) -> None:
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    vendored: list[tuple[int, str]] = []
    page.on("response", lambda r: vendored.append((r.status, r.headers.get("content-type", "")))
            if "/vendor/echarts-" in r.url else None)

    _demo_supervisor_login(live, page)
    for chart in CHARTS:  # ECharts drew into each box (a canvas), and labelled it
        expect(page.locator(f"#{chart} canvas")).to_have_count(1)
        expect(page.locator(f"#{chart}")).to_have_attribute("role", "img")
    assert vendored == [(200, "text/javascript; charset=utf-8")]
    # Nobody has asked for a person yet today: the charts say so.
    expect(page.locator("#sum-volume")).to_have_text("今日还没有转人工。")
    assert _option(page, "chart-reasons")["title"] == [True]  # 暂无数据
    assert _option(page, "chart-volume")["aria"] == "今日还没有转人工。"
    ids = {chart: _option(page, chart)["id"] for chart in CHARTS}

    # The day's handoffs arrive (rows written by others: the 5-second refresh; a customer: an event).
    agent_name, _agent_id = _day_of_handoffs(live)
    _queued(live)
    assert wait_for(lambda: sum(_series(_option(page, "chart-volume"), "转人工")) == 5, timeout=10)
    assert _option(page, "chart-reasons")["title"] == [False]

    api = _api(page)
    assert api["handoffs_today"] == 5 and api["breaches_today"] == 1
    assert [(r["key"], r["count"]) for r in api["reasons"]] == [("asked", 3), ("complaint", 2)]
    assert api["top_intents"], "the waiting customer's turns give at least one intent"
    assert wait_for(lambda: not _mismatches(_api(page), page), timeout=10), _mismatches(_api(page), page)

    frt = _option(page, "chart-frt")
    # bucket times in the service's time zone (Shantou, 10:00 on the test clock), whatever the browser's
    assert frt["x"][0][-1] == "10:00" and _option(page, "chart-volume")["x"][0][-1] == "10:00", frt["x"]
    assert frt["series"][0]["markLine"][0]["yAxis"] == 3  # the 3-minute line
    assert any(v == 5.0 for v in _series(frt, "P90 首次响应"))  # the 5-minute answer, above the line
    agents = _option(page, "chart-agents")
    assert any(label.startswith(agent_name) and "在线" in label for label in agents["y"][0])

    # Each chart says its numbers in words: its aria-label, also shown under it (the numbers stay text).
    volume = _option(page, "chart-volume")
    assert volume["aria"].startswith("今日转人工 5 个，超时 1 个")
    expect(page.locator("#sum-volume")).to_have_text(volume["aria"])
    assert "P90" in frt["aria"] and "超过3分钟" in frt["aria"]
    expect(page.locator("#sum-reasons")).to_contain_text("客户要求人工")
    assert "在线 1 人" in agents["aria"] and "正在接待" in agents["aria"]
    expect(page.locator("#t-handoffs")).to_have_text("5")  # the text figures stay
    page.click("#buckets-table >> xpath=ancestor::details/summary")
    expect(page.locator("#buckets-table tbody tr")).not_to_have_count(0)

    # Live: a new handoff (an event) updates the same instances with setOption.
    _queued(live)
    assert wait_for(lambda: sum(_series(_option(page, "chart-volume"), "转人工")) == 6, timeout=10)
    assert wait_for(lambda: not _mismatches(_api(page), page), timeout=10), _mismatches(_api(page), page)
    assert {chart: _option(page, chart)["id"] for chart in CHARTS} == ids
    for chart in CHARTS:
        expect(page.locator(f"#{chart} canvas")).to_have_count(1)

    # The charts follow the window's size.
    wide = _option(page, "chart-volume")["width"]
    page.set_viewport_size({"width": 800, "height": 900})
    assert wait_for(lambda: _option(page, "chart-volume")["width"] < wide - 200, timeout=5), \
        (wide, _option(page, "chart-volume")["width"])
    box = page.locator("#chart-volume").bounding_box()
    assert box is not None and abs(_option(page, "chart-volume")["width"] - box["width"]) <= 1

    # Tooltips (hovering a bucket, a reason) are drawn without inline styles the CSP would refuse.
    for chart in ("chart-volume", "chart-reasons", "chart-agents"):
        box = page.locator(f"#{chart}").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
        page.wait_for_timeout(300)  # the tooltip shows after ECharts' next frame

    violations = page.evaluate("() => window.__csp")
    assert violations == [], violations
    assert errors == [], errors
    context.close()

