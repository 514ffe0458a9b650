"""Notices against the local fake WeChat API and fake Aliyun SMS (the real client code runs)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from backend.claims import service as claims
from backend.claims.models import Claim
from backend.db import session_scope
from backend.gateways.sms import SmsGateway
from backend.gateways.wechat import WechatGateway
from backend.hooks import JobContext
from backend.jobs.group import GroupCommitter
from backend.jobs.models import Job
from backend.jobs.registry import discover
from backend.jobs.runner import Executor, claim_due
from backend.notices.models import Notice
from backend.outbox import PROGRESS_KIND, SEND_KIND
from backend.privacy import service as privacy
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from backend.worker import job_context
from tests.backend.claims.support import calendar, make_id, report_kwargs
from tests.backend.jobs.conftest import Clock
from tests.support.fake_aliyun_sms import FakeAliyunSms
from tests.support.fake_wechat import FakeWechat

OPENID = "oNoticeCustomer0001"
PHONE = "13800138000"


@pytest.fixture(autouse=True)
def only_this_tests_jobs(request: pytest.FixtureRequest) -> None:
    """Jobs and notices committed by other tests (real commits on the shared PostgreSQL database) are
    not this test's: removed inside this test's transaction, so back again when it rolls back."""
    if "db" not in request.fixturenames:
        return
    db: Session = request.getfixturevalue("db")
    db.execute(delete(Job))
    db.execute(delete(Notice))
    db.commit()


@pytest.fixture
def fake_wechat() -> Iterator[FakeWechat]:
    fake = FakeWechat(timeout_sleep_s=1.0).start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_sms() -> Iterator[FakeAliyunSms]:
    fake = FakeAliyunSms(timeout_sleep_s=1.0).start()
    yield fake
    fake.stop()


@pytest.fixture
def clock(runtime: Runtime) -> Clock:
    c = Clock(now=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC))  # Monday 10:00 in Shanghai
    runtime.clock = c
    return c


@pytest.fixture
def services(runtime: Runtime, fake_wechat: FakeWechat, fake_sms: FakeAliyunSms,
             clock: Clock) -> dict[str, Any]:
    fake_sms.clock = clock
    wechat = WechatGateway(app_id=fake_wechat.app_id, app_secret=fake_wechat.app_secret,
                           redis_client=runtime.redis, api_base_url=fake_wechat.url, timeout_s=0.5,
                           sleep=lambda s: None)
    sms = SmsGateway(access_key_id=fake_sms.access_key_id, access_key_secret=fake_sms.access_key_secret,
                     sign_name=fake_sms.sign_name, endpoint=fake_sms.endpoint, protocol="http", timeout_s=0.5)
    return {"wechat": wechat, "sms": sms, "miniprogram": wechat}


@pytest.fixture
def ctx(runtime: Runtime, clock: Clock, services: dict[str, Any]) -> JobContext:
    return dataclasses.replace(job_context(runtime), services=services)


@pytest.fixture
def executor(ctx: JobContext) -> Executor:
    """As in a worker: first tries of template messages take the fast way (group commit)."""
    return Executor(ctx, discover(), group=GroupCommitter(ctx))


def run_due(runtime: Runtime, executor: Executor, clock: Clock, *, rounds: int = 20,
            kinds: tuple[str, ...] = (SEND_KIND, PROGRESS_KIND)) -> int:
    """Run every due notice job until none is due now (what the worker does); how many runs."""
    runs = 0
    for _ in range(rounds):
        with session_scope(runtime.sessions) as s:
            claimed = claim_due(s, now=clock(), limit=1000, lease_s=60, kinds=kinds)
        if not claimed:
            return runs
        by_kind: dict[str, list[Any]] = {}
        for c in claimed:
            by_kind.setdefault(c.kind, []).append(c)
        for kind, items in by_kind.items():
            if kind == PROGRESS_KIND:
                executor.execute(items)
            else:
                for c in items:
                    executor.execute([c])
            runs += len(items)
    return runs


def report(db: Session, cipher: FieldCipher, catalog: Any, *, openid: str | None = OPENID,
           channel: str = "official_account", now: dt.datetime, phone: str = PHONE, seq: str = "1") -> Claim:
    """A claim reported in WeChat by ``openid`` (consent recorded), or by phone (``openid=None``)."""
    id_number = make_id(f"44051419530101{seq.zfill(3)[-3:]}")
    if openid is not None:
        for category in ("id_number", "medical"):
            privacy.record_consent(db, category=category, channel=channel, user_id=openid, actor="customer",
                                   now=now)
        kw = report_kwargs(channel=channel, actor=f"bot:{channel}", reporter_openid=openid,
                           insured_id_number=id_number, reporter_phone=phone, now=now,
                           accident_date=(now - dt.timedelta(days=3)).date())
    else:
        kw = report_kwargs(insured_id_number=id_number, reporter_phone=phone, now=now,
                           accident_date=(now - dt.timedelta(days=3)).date())
    return claims.report_claim(db, cipher=cipher, catalog=catalog, calendar=calendar(), **kw)
