"""The claim detail lists the notices we sent about the claim: channel, when, the words, the stage and
whether it arrived. The notices are sent by the real send job against the fake WeChat API."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import delete

from backend.gateways.wechat import WechatGateway
from backend.jobs.models import Job
from backend.jobs.registry import discover
from backend.jobs.runner import Executor
from backend.notices.models import Notice
from backend.notices.service import NoticeView
from backend.worker import job_context
from miniprogram_api.notices import notice_view
from tests.backend.notices.conftest import run_due
from tests.miniprogram_api.conftest import API, MP

TEMPLATE = "SUBSCRIBE_CLAIM_PROGRESS"  # config/notices.yaml, claim_update's subscribe message


@pytest.fixture
def executor(mp: MP) -> Executor:
    """A worker's executor with the mini-program's WeChat API (the fake) as its gateway."""
    mp.db.execute(delete(Job))  # only this test's jobs and notices (rolled back afterwards)
    mp.db.execute(delete(Notice))
    mp.db.commit()
    wx = WechatGateway(
        app_id=mp.fake.app_id,
        app_secret=mp.fake.app_secret,
        redis_client=mp.runtime.redis,
        api_base_url=mp.fake.url,
        timeout_s=1.0,
        sleep=lambda s: None,
    )
    services: dict[str, Any] = {"wechat": wx, "miniprogram": wx}
    return Executor(dataclasses.replace(job_context(mp.runtime), services=services), discover())


def test_claim_detail_lists_the_notices_sent_with_channel_time_words_stage_and_delivery(
    mp: MP, executor: Executor
) -> None:
    openid = "oNoticeMp0001"
    headers = mp.login(openid)
    mp.fake.accept(openid, TEMPLATE)
    r = mp.client.post(
        f"{API}/notifications/subscriptions",
        headers={**headers, "Idempotency-Key": "notice-accept-1"},
        json={"results": [{"template_id": TEMPLATE, "status": "accept"}]},
    )
    assert r.status_code == 200, r.text
    claim = mp.report(headers, mp.bind(headers)).json()
    assert claim["notices"] == []  # written by its send job, which has not run yet
    run_due(mp.runtime, executor, mp.runtime.clock)  # type: ignore[arg-type]
    assert len(mp.fake.subscribes) == 1
    detail = mp.client.get(f"{API}/claims/{claim['id']}", headers=headers).json()
    [sent] = detail["notices"]
    assert sent["channel"] == "miniprogram_subscribe" and sent["channel_label"] == "小程序消息"
    assert sent["delivery"] == "sent" and sent["delivery_label"] == "已发出" and sent["sent_at"]
    assert sent["stage"] == "reported" and sent["stage_label"] == "已报案"
    assert claim["case_no"] in sent["text"] and "已收到报案" in sent["text"]
    # The one acceptance was used by this notice.
    left = mp.client.get(f"{API}/notifications/subscriptions", headers=headers).json()["items"]
    assert [(b["template_id"], b["available"]) for b in left] == [(TEMPLATE, 0)]


def test_claim_detail_says_when_a_notice_could_not_be_sent(mp: MP, executor: Executor) -> None:
    headers = mp.login("oNoticeMp0002")  # no subscribe acceptance, and no SMS channel configured
    claim = mp.report(headers, mp.bind(headers)).json()
    run_due(mp.runtime, executor, mp.runtime.clock)  # type: ignore[arg-type]
    assert mp.fake.subscribes == []
    [failed] = mp.client.get(f"{API}/claims/{claim['id']}", headers=headers).json()["notices"]
    assert (failed["delivery"], failed["sent_at"], failed["channel"]) == ("failed", None, None)
    assert "工作人员会联系您" in failed["delivery_label"]
    # Another customer's claim, notices and all, is not found.
    assert mp.client.get(f"{API}/claims/{claim['id']}", headers=mp.login()).status_code == 404


@pytest.mark.parametrize(
    ("state", "receipt", "delivery"),
    [
        ("pending", None, "sending"),
        ("sent", None, "sent"),
        ("sent", "success", "delivered"),
        ("sent", "DELIVERED", "delivered"),
        ("sent", "failed:user block", "not_delivered"),
        ("sent", "isv.MOBILE_NUMBER_ILLEGAL", "not_delivered"),
        ("failed", None, "failed"),
    ],
)
def test_delivery_follows_the_send_and_its_receipt(state: str, receipt: str | None, delivery: str) -> None:
    view = NoticeView(
        id=1,
        kind="claim_update",
        text="x",
        stage="reported",
        state=state,
        channel="sms",
        created_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        sent_at=None,
        receipt_status=receipt,
    )
    out = notice_view(view)
    assert out.delivery == delivery and out.delivery_label and out.stage_label == "已报案"
