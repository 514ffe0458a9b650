"""The timer API and the runner on SQLite and PostgreSQL: schedule, cancel, claim, run once, retry
with backoff, dead-letter, resend, and reclaim after a lost lease (F-W1)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db import session_scope
from backend.errors import Conflict
from backend.hooks import JobContext, JobKind, PermanentFailure, RetryLater
from backend.jobs import service as jobs
from backend.jobs.models import Job
from backend.jobs.registry import Registry
from backend.jobs.runner import Claimed, Executor, backoff_s, claim_due, in_flight, release
from backend.runtime import Runtime
from tests.backend.jobs.conftest import Clock

# Only this file's kinds: other tests' rows (committed by tests of real processes) are not ours.
TEST_KINDS = ("test.fire", "test.boom", "test.later", "test.never", "test.batch", "test.every", "test.sql")


def _claim(runtime: Runtime, clock: Clock, limit: int = 100, lease_s: float = 60) -> list[Claimed]:
    with session_scope(runtime.sessions) as s:
        return claim_due(s, now=clock(), limit=limit, lease_s=lease_s, kinds=TEST_KINDS)


def _row(db: Session, key: str, kind: str = "test.fire") -> Job:
    db.expire_all()
    row = jobs.get_job(db, kind=kind, key=key)
    assert row is not None
    return row


def test_a_timer_fires_once_when_due(runtime: Runtime, db: Session, clock: Clock, executor: Executor,
                                     fired: list[str]) -> None:
    jobs.schedule(db, kind="test.fire", key="a", due_at=clock() + dt.timedelta(minutes=2), now=clock())
    db.commit()
    assert _claim(runtime, clock) == []  # not due yet
    clock.advance(120)
    claimed = _claim(runtime, clock)
    assert [c.kind for c in claimed] == ["test.fire"]
    assert _claim(runtime, clock) == []  # claimed once
    assert executor.execute(claimed) == 1
    assert executor.execute(claimed) == 0  # the same message again (a redelivery) does nothing
    assert fired == ["a"]
    assert _row(db, "a").state == "done"


def test_scheduling_again_moves_the_one_row_and_rearms_a_finished_one(
        runtime: Runtime, db: Session, clock: Clock, executor: Executor, fired: list[str]) -> None:
    jobs.schedule(db, kind="test.fire", key="k", due_at=clock() + dt.timedelta(minutes=3), now=clock())
    jobs.schedule(db, kind="test.fire", key="k", due_at=clock() + dt.timedelta(minutes=1), now=clock())
    db.commit()
    assert db.scalar(select(func.count()).select_from(Job).where(Job.key == "k")) == 1
    clock.advance(60)
    executor.execute(_claim(runtime, clock))
    jobs.schedule(db, kind="test.fire", key="k", due_at=clock(), now=clock())
    db.commit()
    executor.execute(_claim(runtime, clock))
    assert fired == ["k", "k"]


def test_an_outbox_entry_written_twice_stays_as_first_written(db: Session, clock: Clock) -> None:
    jobs.schedule(db, kind="test.fire", key="o", due_at=clock(), payload={"n": 1}, replace=False)
    jobs.schedule(db, kind="test.fire", key="o", due_at=clock(), payload={"n": 2}, replace=False)
    assert _row(db, "o").payload == {"n": 1}


def test_cancel_before_and_while_running(runtime: Runtime, db: Session, clock: Clock, executor: Executor,
                                         fired: list[str]) -> None:
    jobs.schedule(db, kind="test.fire", key="c1", due_at=clock(), now=clock())
    jobs.schedule(db, kind="test.fire", key="c2", due_at=clock(), now=clock())
    assert jobs.cancel(db, kind="test.fire", key="c1") is True
    assert jobs.cancel(db, kind="test.fire", key="c1") is False
    db.commit()
    claimed = _claim(runtime, clock)
    assert [c.id for c in claimed] == [_row(db, "c2").id]
    jobs.cancel(db, kind="test.fire", key="c2")  # cancelled after its message was sent
    db.commit()
    assert executor.execute(claimed) == 0
    assert fired == []


def test_failures_back_off_then_dead_letter_and_staff_resend(
        runtime: Runtime, db: Session, clock: Clock, ctx: JobContext, registry: Registry) -> None:
    calls: list[int] = []
    dead: list[str] = []

    def boom(_ctx: JobContext, session: Session, row: object) -> None:
        calls.append(1)
        session.add(Job(kind="test.side", key=f"side{len(calls)}", due_at=clock(), payload={}))
        raise RuntimeError("provider down")

    registry.add(JobKind(name="test.boom", handler=boom, max_attempts=3, backoff_base_s=10,
                         on_dead=lambda c, s, row: dead.append(row.key)))
    executor = Executor(ctx, registry)
    jobs.schedule(db, kind="test.boom", key="b", due_at=clock(), now=clock())
    db.commit()
    delays = []
    for _ in range(3):
        assert executor.execute(_claim(runtime, clock)) == 0
        row = _row(db, "b", "test.boom")
        if row.state == "pending":
            delays.append((row.due_at - clock()).total_seconds())
            clock.now = row.due_at
    assert len(calls) == 3
    assert 5 <= delays[0] < 15 and 10 <= delays[1] < 30  # 10 s then 20 s, ±50 % jitter
    row = _row(db, "b", "test.boom")
    assert (row.state, row.attempts) == ("dead", 3)
    assert "provider down" in (row.last_error or "")
    assert dead == ["b"]
    # A failed attempt's writes were rolled back.
    assert db.scalar(select(func.count()).select_from(Job).where(Job.kind == "test.side")) == 0
    assert [j.key for j in jobs.list_dead(db, kind="test.boom")] == ["b"]
    jobs.resend(db, job_id=row.id, now=clock())
    db.commit()
    with pytest.raises(Conflict):
        jobs.resend(db, job_id=row.id, now=clock())
    assert _row(db, "b", "test.boom").state == "pending"
    assert len(_claim(runtime, clock)) == 1


def test_retry_later_and_permanent_failure(runtime: Runtime, db: Session, clock: Clock, ctx: JobContext,
                                           registry: Registry) -> None:
    def later(_c: JobContext, _s: Session, row: object) -> None:
        raise RetryLater(clock() + dt.timedelta(hours=8), "quiet hours")

    def never(_c: JobContext, s: Session, row: object) -> None:
        s.add(Job(kind="test.note", key="why", due_at=clock(), payload={}))
        raise PermanentFailure("invalid openid")

    registry.add(JobKind(name="test.later", handler=later))
    registry.add(JobKind(name="test.never", handler=never))
    ex = Executor(ctx, registry)
    jobs.schedule(db, kind="test.later", key="l", due_at=clock(), now=clock())
    jobs.schedule(db, kind="test.never", key="n", due_at=clock(), now=clock())
    db.commit()
    for c in _claim(runtime, clock):
        ex.execute([c])
    row = _row(db, "l", "test.later")
    assert (row.state, row.attempts, row.due_at) == ("pending", 0, clock() + dt.timedelta(hours=8))
    assert _row(db, "n", "test.never").state == "dead"
    assert _row(db, "why", "test.note").state == "pending"  # a deliberate outcome keeps its writes


def test_d02_a_database_error_in_a_job_leaves_its_parameters_out_of_the_log_and_last_error(
        runtime: Runtime, db: Session, clock: Clock, ctx: JobContext, registry: Registry,
        caplog: pytest.LogCaptureFixture) -> None:
    """A unique violation's text carries the statement's parameters (SQLAlchemy) and, on PostgreSQL,
    the key's values (DETAIL): neither may reach the job's log lines or the ``last_error`` staff read."""
    secret = "oCustomer-13800138000-Openid"

    def clash(_c: JobContext, session: Session, row: object) -> None:
        session.add(Job(kind="test.fire", key=secret, due_at=clock(), payload={"text": secret}))
        session.flush()
        session.add(Job(kind="test.fire", key=secret, due_at=clock(), payload={"text": secret}))
        session.flush()

    registry.add(JobKind(name="test.sql", handler=clash, max_attempts=1))
    jobs.schedule(db, kind="test.sql", key="s", due_at=clock(), now=clock())
    db.commit()
    with caplog.at_level(logging.DEBUG):
        assert Executor(ctx, registry).execute(_claim(runtime, clock)) == 0
    row = _row(db, "s", "test.sql")
    assert row.state == "dead"
    assert (row.last_error or "").startswith("IntegrityError(") and " at " in (row.last_error or "")
    logged = caplog.text + "".join(str(r.exc_info) for r in caplog.records if r.exc_info)
    assert "job test.sql failed: IntegrityError(" in logged
    assert secret not in logged and secret not in (row.last_error or "")
    assert "13800138000" not in logged


def test_lost_lease_is_claimed_again_and_the_old_message_does_nothing__f_w1(
        runtime: Runtime, db: Session, clock: Clock, executor: Executor, fired: list[str]) -> None:
    jobs.schedule(db, kind="test.fire", key="w", due_at=clock(), now=clock())
    db.commit()
    first = _claim(runtime, clock, lease_s=30)
    with session_scope(runtime.sessions) as s:
        assert in_flight(s, now=clock()) >= 1
    clock.advance(10)
    assert _claim(runtime, clock) == []  # lease still running
    clock.advance(25)  # the worker that had it died; the lease passed
    second = _claim(runtime, clock)
    assert [c.id for c in second] == [c.id for c in first] and second[0].token != first[0].token
    assert executor.execute(first) == 0  # the dead worker's message, redelivered: stale token
    assert executor.execute(second) == 1
    assert fired == ["w"]
    assert _row(db, "w").attempts == 2


def test_released_rows_are_due_again_without_a_counted_attempt(runtime: Runtime, db: Session,
                                                              clock: Clock) -> None:
    jobs.schedule(db, kind="test.fire", key="r", due_at=clock(), now=clock())
    db.commit()
    claimed = _claim(runtime, clock)
    with session_scope(runtime.sessions) as s:
        release(s, claimed, now=clock())
    row = _row(db, "r")
    assert (row.state, row.attempts) == ("pending", 0)
    assert len(_claim(runtime, clock)) == 1


def test_batch_kinds_and_recurring_timers(runtime: Runtime, db: Session, clock: Clock, ctx: JobContext,
                                          registry: Registry) -> None:
    seen: list[list[str]] = []

    def batch(_c: JobContext, _s: Session, rows: list) -> None:  # type: ignore[type-arg]
        seen.append([r.key for r in rows])

    registry.add(JobKind(name="test.batch", batch_handler=batch, batch_size=50))
    registry.add(JobKind(name="test.every", handler=lambda c, s, row: clock() + dt.timedelta(days=1)))
    ex = Executor(ctx, registry)
    jobs.schedule_many(db, kind="test.batch", items=[(str(i), clock(), None) for i in range(5)], now=clock())
    jobs.schedule(db, kind="test.every", key="e", due_at=clock(), now=clock())
    db.commit()
    claimed = _claim(runtime, clock)
    assert ex.execute([c for c in claimed if c.kind == "test.batch"]) == 5
    assert sorted(seen[0]) == ["0", "1", "2", "3", "4"]
    assert ex.execute([c for c in claimed if c.kind == "test.every"]) == 1
    row = _row(db, "e", "test.every")
    assert (row.state, row.due_at) == ("pending", clock() + dt.timedelta(days=1))


def test_backoff_is_capped_and_jittered() -> None:
    kind = JobKind(name="x", handler=lambda c, s, r: None, backoff_base_s=10, backoff_cap_s=60)
    samples = [backoff_s(kind, 10) for _ in range(200)]
    assert all(30 <= d < 90 for d in samples)
    assert len({round(d, 3) for d in samples}) > 50
