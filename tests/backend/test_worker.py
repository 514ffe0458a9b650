"""The job worker runs due jobs once per period across workers, and survives Redis being down."""

from __future__ import annotations

from backend.redis_conn import RedisHandle
from backend.runtime import Runtime
from backend.worker import PeriodicJob, run_due_jobs
from tests.support.servers import free_port


def test_due_jobs_run_once_per_period_across_workers(runtime: Runtime) -> None:
    calls: list[str] = []
    job = PeriodicJob("t", 60, lambda rt: calls.append("ran"))
    first: dict[str, float] = {}
    second: dict[str, float] = {}
    assert run_due_jobs(runtime, [job], first, now=6000.0) == ["t"]
    assert run_due_jobs(runtime, [job], second, now=6001.0) == []  # another worker, same period
    assert run_due_jobs(runtime, [job], first, now=6030.0) == []  # not due yet
    assert run_due_jobs(runtime, [job], first, now=6061.0) == ["t"]
    assert calls == ["ran", "ran"]


def test_failing_job_does_not_stop_others(runtime: Runtime) -> None:
    def boom(_rt: Runtime) -> None:
        raise RuntimeError("x")

    calls: list[int] = []
    jobs = [PeriodicJob("a", 10, boom), PeriodicJob("b", 10, lambda rt: calls.append(1))]
    assert run_due_jobs(runtime, jobs, {}, now=100.0) == ["b"]
    assert calls == [1]


def test_redis_down_skips_jobs(runtime: Runtime) -> None:
    runtime.redis = RedisHandle(url=f"redis://127.0.0.1:{free_port()}/0").sync_client()
    calls: list[int] = []
    assert run_due_jobs(runtime, [PeriodicJob("c", 10, lambda rt: calls.append(1))], {}, now=50.0) == []
    assert calls == []


def test_agent_owned_mirror_job_is_discovered_and_rebuilds_the_set(runtime: Runtime, db) -> None:  # type: ignore[no-untyped-def]
    from backend.handoff.jobs import run_mirror
    from backend.handoff.models import HandoffRequest
    from backend.handoff.service import AGENT_OWNED_KEY, conversation_digest
    from backend.worker import discover_jobs

    assert "handoff.mirror_agent_owned" in {j.name for j in discover_jobs()}
    db.add(HandoffRequest(channel="official_account", user_id="oMirrorJob", reason="asked", status="agent"))
    db.add(HandoffRequest(channel="official_account", user_id="oQueued", reason="asked", status="queued"))
    db.commit()
    runtime.redis.sadd(AGENT_OWNED_KEY, "gone")
    assert run_mirror(runtime) >= 1
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
