"""SLA timers and delivery as job rows: the 2-minute warning and 3-minute breach fire once with two
workers and after a worker restart, not when answered in time; next-response breaches; agent replies
go to the fake WeChat customer-service API inside the 48-hour window and the 5-per-message allowance
(45047 shown to the console), and to the web chat channel."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.db import session_scope
from backend.gateways.wechat import WechatGateway
from backend.handoff import console, customer, events, messages, queue, timers
from backend.handoff.models import HandoffMessage, HandoffRequest
from backend.handoff.service import request_handoff
from backend.hooks import JobContext
from backend.jobs.registry import discover
from backend.jobs.runner import Executor, claim_due
from backend.runtime import Runtime
from backend.worker import job_context
from tests.support.fake_wechat import FakeWechat

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
CH = "official_account"
KINDS = (queue.SLA_KIND, messages.DELIVER_KIND)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(runtime: Runtime) -> Clock:
    c = Clock()
    runtime.clock = c
    return c


@pytest.fixture
def fake_wechat() -> Iterator[FakeWechat]:
    fake = FakeWechat(timeout_sleep_s=0.5).start()
    yield fake
    fake.stop()


@pytest.fixture
def ctx(runtime: Runtime, clock: Clock, fake_wechat: FakeWechat) -> JobContext:
    wechat = WechatGateway(
        app_id=fake_wechat.app_id,
        app_secret=fake_wechat.app_secret,
        redis_client=runtime.redis,
        api_base_url=fake_wechat.url,
        timeout_s=0.5,
        sleep=lambda s: None,
    )
    return dataclasses.replace(job_context(runtime), services={"wechat": wechat})


def worker(ctx: JobContext) -> Executor:
    """A worker process: its own executor over the registered kinds."""
    return Executor(ctx, discover())


def run_due(runtime: Runtime, executor: Executor, at: dt.datetime) -> int:
    """One poll of a worker: claim what is due and run it; how many rows ran."""
    with session_scope(runtime.sessions) as s:
        claimed = claim_due(s, now=at, limit=100, lease_s=60, kinds=list(KINDS))
    for c in claimed:
        executor.execute([c])
    return len(claimed)


def _queued(runtime: Runtime, user: str, *, channel: str = CH) -> int:
    with session_scope(runtime.sessions) as s:
        row = request_handoff(s, channel=channel, user_id=user, reason="asked", cipher=runtime.cipher, now=T0)
        return row.id


def _types(runtime: Runtime) -> list[str]:
    return [e.type for e in events.read_after(runtime.redis, "0-0")[0]]


def test_warning_at_2_and_breach_at_3_minutes_fire_once_with_two_workers(
    runtime: Runtime, clock: Clock, ctx: JobContext, db: Session
) -> None:
    handoff_id = _queued(runtime, "o-sla")
    one, two = worker(ctx), worker(ctx)
    assert run_due(runtime, one, T0 + dt.timedelta(seconds=119)) == 0
    clock.now = T0 + dt.timedelta(seconds=120)
    assert run_due(runtime, one, clock.now) == 1
    assert run_due(runtime, two, clock.now) == 0  # the other worker finds nothing: fired once
    assert _types(runtime) == ["handoff.sla_warning"]
    clock.now = T0 + dt.timedelta(seconds=180)
    assert run_due(runtime, two, clock.now) == 1  # the breach
    assert run_due(runtime, one, clock.now) == 1  # the call-back offer goes out (delivery job)
    assert run_due(runtime, two, clock.now) == 0
    row = db.get(HandoffRequest, handoff_id)
    assert row is not None
    db.refresh(row)
    assert row.escalated and row.breached_at == clock.now
    offers = [m for m in messages.history(db, handoff_id) if m.direction == "system"]
    assert len(offers) == 1 and "回电" in messages.read_text(offers[0], cipher=runtime.cipher)
    assert _types(runtime).count("handoff.sla_breach") == 1
    actions = db.scalars(select(AuditRecord.action).where(AuditRecord.object_id == str(handoff_id))).all()
    assert actions.count("handoff.sla_warning") == 1 and actions.count("handoff.sla_breach") == 1


def test_timers_survive_a_worker_restart(
    runtime: Runtime, clock: Clock, ctx: JobContext, db: Session
) -> None:
    handoff_id = _queued(runtime, "o-restart")
    first = worker(ctx)
    assert run_due(runtime, first, T0 + dt.timedelta(seconds=30)) == 0
    del first  # the worker process stops; its timers were rows, not in memory
    restarted = worker(dataclasses.replace(ctx))
    clock.now = T0 + dt.timedelta(minutes=5)
    assert run_due(runtime, restarted, clock.now) == 2  # warn and breach, late but once
    row = db.get(HandoffRequest, handoff_id)
    assert row is not None
    db.refresh(row)
    assert row.escalated
    assert _types(runtime).count("handoff.sla_warning") == 1


def test_no_alert_when_answered_in_time(runtime: Runtime, clock: Clock, ctx: JobContext, db: Session) -> None:
    handoff_id = _queued(runtime, "o-fast")
    with session_scope(runtime.sessions) as s:
        console.take(s, handoff_id=handoff_id, staff_id=5, now=T0 + dt.timedelta(seconds=30))
        console.reply(
            s,
            handoff_id=handoff_id,
            staff_id=5,
            text="您好",
            now=T0 + dt.timedelta(seconds=60),
            cipher=runtime.cipher,
        )
    clock.now = T0 + dt.timedelta(minutes=4)
    run_due(runtime, worker(ctx), clock.now)
    types = _types(runtime)
    assert "handoff.sla_warning" not in types and "handoff.sla_breach" not in types


def test_next_response_breach_when_a_later_message_waits_3_minutes(
    runtime: Runtime, clock: Clock, ctx: JobContext
) -> None:
    handoff_id = _queued(runtime, "o-next")
    with session_scope(runtime.sessions) as s:
        console.take(s, handoff_id=handoff_id, staff_id=6, now=T0)
        console.reply(
            s,
            handoff_id=handoff_id,
            staff_id=6,
            text="您好",
            now=T0 + dt.timedelta(seconds=10),
            cipher=runtime.cipher,
        )
        customer.customer_message(
            s,
            channel=CH,
            user_id="o-next",
            text="钱什么时候到",
            now=T0 + dt.timedelta(seconds=20),
            cipher=runtime.cipher,
        )
    clock.now = T0 + dt.timedelta(seconds=200)
    run_due(runtime, worker(ctx), clock.now)
    breaches = [e for e in events.read_after(runtime.redis, "0-0")[0] if e.type == "handoff.sla_breach"]
    assert [b.data["kind"] for b in breaches] == ["next_response"]


def _reply(runtime: Runtime, handoff_id: int, text: str, at: dt.datetime, staff_id: int = 9) -> int:
    with session_scope(runtime.sessions) as s:
        row = s.get(HandoffRequest, handoff_id)
        assert row is not None
        if row.status == "queued":
            console.take(s, handoff_id=handoff_id, staff_id=staff_id, now=at)
        return console.reply(
            s, handoff_id=handoff_id, staff_id=staff_id, text=text, now=at, cipher=runtime.cipher
        ).id


def _delivery(db: Session, msg_id: int) -> tuple[str, str | None]:
    msg = db.get(HandoffMessage, msg_id)
    assert msg is not None
    db.refresh(msg)
    return msg.delivery, msg.delivery_error


def test_agent_reply_reaches_the_customer_through_the_wechat_api(
    runtime: Runtime, clock: Clock, ctx: JobContext, fake_wechat: FakeWechat, db: Session
) -> None:
    handoff_id = _queued(runtime, "o-deliver")
    fake_wechat.user_wrote("o-deliver")
    msg_id = _reply(runtime, handoff_id, "您好，我是客服", T0 + dt.timedelta(seconds=30))
    run_due(runtime, worker(ctx), T0 + dt.timedelta(seconds=30))
    assert [b["text"]["content"] for b in fake_wechat.sent] == ["您好，我是客服"]
    assert _delivery(db, msg_id) == ("sent", None)


def test_sixth_message_after_one_customer_message_is_held_not_sent(
    runtime: Runtime, clock: Clock, ctx: JobContext, fake_wechat: FakeWechat, db: Session
) -> None:
    handoff_id = _queued(runtime, "o-quota")
    fake_wechat.user_wrote("o-quota")
    executor = worker(ctx)
    ids = []
    for i in range(6):
        at = T0 + dt.timedelta(seconds=30 + i)
        ids.append(_reply(runtime, handoff_id, f"第{i + 1}条", at))
        run_due(runtime, executor, at)
    assert len(fake_wechat.sent) == 5
    assert fake_wechat.calls["/cgi-bin/message/custom/send"] == 5  # the sixth was not even tried
    state, error = _delivery(db, ids[-1])
    assert state == "failed" and error is not None and "5条" in error and "45047" not in error


def test_errcode_45047_is_shown_as_a_clear_reason(
    runtime: Runtime, clock: Clock, ctx: JobContext, fake_wechat: FakeWechat, db: Session
) -> None:
    handoff_id = _queued(runtime, "o-45047")
    fake_wechat.user_wrote("o-45047")
    fake_wechat.cs_count["o-45047"] = 5  # WeChat counted messages we did not (another system sent them)
    msg_id = _reply(runtime, handoff_id, "您好", T0 + dt.timedelta(seconds=30))
    run_due(runtime, worker(ctx), T0 + dt.timedelta(seconds=30))
    state, error = _delivery(db, msg_id)
    assert state == "failed" and error is not None and "45047" in error


def test_outside_48_hours_is_failed_without_calling_wechat(
    runtime: Runtime, clock: Clock, ctx: JobContext, fake_wechat: FakeWechat, db: Session
) -> None:
    handoff_id = _queued(runtime, "o-late")
    fake_wechat.user_wrote("o-late", at=time.time())
    late = T0 + dt.timedelta(hours=49)
    clock.now = late
    msg_id = _reply(runtime, handoff_id, "您好", late)
    run_due(runtime, worker(ctx), late)
    state, error = _delivery(db, msg_id)
    assert state == "failed" and error is not None and "48小时" in error
    assert fake_wechat.sent == []


def test_webchat_reply_is_stored_for_the_page(
    runtime: Runtime, clock: Clock, ctx: JobContext, fake_wechat: FakeWechat, db: Session
) -> None:
    handoff_id = _queued(runtime, "visitor-1", channel="webchat")
    msg_id = _reply(runtime, handoff_id, "您好", T0 + dt.timedelta(seconds=30))
    run_due(runtime, worker(ctx), T0 + dt.timedelta(seconds=30))
    assert _delivery(db, msg_id) == ("sent", None) and fake_wechat.sent == []


def test_deliver_is_registered(runtime: Runtime) -> None:
    registry = discover()
    names: set[Any] = set(registry.kinds)
    assert {queue.SLA_KIND, messages.DELIVER_KIND, queue.WORK_ITEM_KIND, "periodic:handoff.assign"} <= names
    assert timers.PER_CUSTOMER_MESSAGE == 5
