"""Periodic jobs are timer rows: each runs once per period across workers and moves itself on; the
existing periodic jobs (agent-owned mirror, retention) are registered."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from backend.db import session_scope
from backend.hooks import PeriodicJob
from backend.jobs import service as jobs
from backend.jobs.registry import discover
from backend.jobs.runner import Executor, claim_due
from backend.runtime import Runtime
from backend.worker import arm_periodic, job_context


def test_periodic_jobs_run_once_per_period_across_workers(runtime: Runtime, db: Session) -> None:
    now = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    runtime.clock = lambda: now
    calls: list[str] = []
    registry = discover([])
    registry.periodic.append(job := PeriodicJob("t", 60, lambda ctx: calls.append("ran")))
    from backend.jobs.registry import periodic_kind

    registry.add(periodic_kind(job))
    arm_periodic(runtime, registry)
    arm_periodic(runtime, registry)  # a second worker starting: still one row
    executor = Executor(job_context(runtime), registry)

    def tick(at: dt.datetime) -> int:
        with session_scope(runtime.sessions) as s:
            claimed = claim_due(s, now=at, limit=10, lease_s=30, kinds=["periodic:t"])
        return sum(executor.execute([c]) for c in claimed)

    assert tick(now) == 1
    assert tick(now) == 0  # another worker, same period
    assert tick(now + dt.timedelta(seconds=30)) == 0
    assert tick(now + dt.timedelta(seconds=61)) == 1
    assert calls == ["ran", "ran"]
    row = jobs.get_job(db, kind="periodic:t", key="t")
    assert row is not None and row.state == "pending"


def test_failing_periodic_job_retries_and_does_not_stop_others(runtime: Runtime) -> None:
    now = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    runtime.clock = lambda: now

    def boom(_ctx: object) -> None:
        raise RuntimeError("x")

    calls: list[int] = []
    registry = discover([])
    from backend.jobs.registry import periodic_kind

    for job in (PeriodicJob("a", 10, boom), PeriodicJob("b", 10, lambda ctx: calls.append(1))):
        registry.periodic.append(job)
        registry.add(periodic_kind(job))
    arm_periodic(runtime, registry)
    executor = Executor(job_context(runtime), registry)
    with session_scope(runtime.sessions) as s:
        claimed = claim_due(s, now=now, limit=10, lease_s=30, kinds=["periodic:a", "periodic:b"])
    assert sum(executor.execute([c]) for c in claimed) == 1
    assert calls == [1]
    with session_scope(runtime.sessions) as s:
        row = jobs.get_job(s, kind="periodic:a", key="a")
        assert row is not None and row.state == "pending" and row.due_at > now and row.last_error


def test_agent_owned_mirror_job_is_registered_and_rebuilds_the_set(runtime: Runtime, db) -> None:  # type: ignore[no-untyped-def]
    from backend.handoff.jobs import run_mirror
    from backend.handoff.models import HandoffRequest
    from backend.handoff.service import AGENT_OWNED_KEY, conversation_digest

    names = {j.name for j in discover().periodic}
    assert {"handoff.mirror_agent_owned", "privacy.retention"} <= names
    db.add(HandoffRequest(channel="official_account", user_id="oMirrorJob", reason="asked", status="agent"))
    db.add(HandoffRequest(channel="official_account", user_id="oQueued", reason="asked", status="queued"))
    db.commit()
    runtime.redis.sadd(AGENT_OWNED_KEY, "gone")
    assert run_mirror(job_context(runtime)) >= 1
    members = runtime.redis.smembers(AGENT_OWNED_KEY)
    assert conversation_digest("official_account", "oMirrorJob").encode() in members
    assert conversation_digest("official_account", "oQueued").encode() not in members
    assert b"gone" not in members


def test_start_up_objects_are_frozen_once() -> None:
    import gc

    from backend import startup

    startup._frozen = False
    assert startup.freeze_startup_objects() is True
    assert gc.get_freeze_count() > 0
    assert startup.freeze_startup_objects() is False  # once per process
