"""Timers across real worker processes over a committed database and the real Redis stream: each
fires exactly once with several workers, when one is SIGKILLed mid-run (F-W1), and after a restart."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import Counter
from pathlib import Path

import redis
from sqlalchemy import Engine, select

from backend.db import make_sessionmaker, session_scope, utcnow
from backend.jobs import service as jobs
from backend.jobs.models import Job
from tests.support.live import spawn, stop, wait_for, worker_env
from tests.support.servers import RedisServer


def _fired(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        keys = conn.execute(select(Job.key).where(Job.kind == "test.fired")).scalars().all()
    return Counter(k.split("#")[0] for k in keys)


def _arm(engine: Engine, keys: list[str], *, spread_s: float) -> None:
    now, step = utcnow(), spread_s / max(1, len(keys))
    with session_scope(make_sessionmaker(engine)) as s:
        jobs.schedule_many(s, kind="test.mark", items=[
            (k, now + dt.timedelta(seconds=step * i), None) for i, k in enumerate(keys)])


def test_timers_fire_once_with_three_workers_one_killed_and_after_a_restart__f_w1(
        live_url: str, live_engine: Engine, redis_server: RedisServer, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    env = worker_env(database_url=live_url, redis_url=redis_server.url, var_dir=tmp_path / "var",
                     CS_JOBS__STREAM=f"test:{uuid.uuid4().hex[:8]}", CS_JOBS__QUEUE_LEASE_S="2",
                     CS_JOBS__POLL_INTERVAL_S="0.2", CS_JOBS__CLAIM_BATCH="50", MARK_SLEEP_S="0.003",
                     WORKER_LOG=str(tmp_path / "runs.log"))
    keys = [f"t{i}" for i in range(400)]
    _arm(live_engine, keys, spread_s=2.0)
    workers = [spawn(env, "tests.support.worker_proc", log=tmp_path / f"w{i}.log") for i in range(3)]
    try:
        assert wait_for(lambda: sum(_fired(live_engine).values()) >= 100, 60), "workers did not start"
        stop(workers[0], kill=True)  # SIGKILL in the middle of the run
        assert wait_for(lambda: len(_fired(live_engine)) == len(keys), 60), (
            f"only {len(_fired(live_engine))} of {len(keys)} fired")
    finally:
        for w in workers:
            stop(w)
    fired = _fired(live_engine)
    assert set(fired) == set(keys)
    assert max(fired.values()) == 1  # each effect committed exactly once
    runs = Counter((tmp_path / "runs.log").read_text().split())
    assert sum(runs.values()) >= len(keys)
    with session_scope(make_sessionmaker(live_engine)) as s:
        assert jobs.count_by_state(s, kind="test.mark") == {"done": len(keys)}
    # No worker runs now: timers armed meanwhile wait in the database, and fire after a restart.
    later = [f"r{i}" for i in range(40)]
    _arm(live_engine, later, spread_s=0.5)
    worker = spawn(env, "tests.support.worker_proc", log=tmp_path / "w-restart.log")
    try:
        assert wait_for(lambda: set(later) <= set(_fired(live_engine)), 60)
    finally:
        stop(worker)
    assert max(_fired(live_engine).values()) == 1


def test_a_job_due_now_wakes_a_sleeping_poller(
        live_url: str, live_engine: Engine, redis_server: RedisServer, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    """A message for a customer (a job due now, announced with jobs.wake after commit) is claimed at
    once, not at the next poll: here the poll interval is 10 s."""
    env = worker_env(database_url=live_url, redis_url=redis_server.url, var_dir=tmp_path / "var",
                     CS_JOBS__STREAM=f"test:{uuid.uuid4().hex[:8]}", CS_JOBS__POLL_INTERVAL_S="10")
    worker = spawn(env, "tests.support.worker_proc", log=tmp_path / "w.log")
    try:
        _arm(live_engine, ["first"], spread_s=0)
        jobs.wake(redis_client)
        assert wait_for(lambda: "first" in _fired(live_engine), 30), "the worker did not start"
        time.sleep(1.0)  # the poller is asleep again, for up to 10 s
        _arm(live_engine, ["woken"], spread_s=0)
        started = time.monotonic()
        jobs.wake(redis_client)
        assert wait_for(lambda: "woken" in _fired(live_engine), 8)
        assert time.monotonic() - started < 3.0
    finally:
        stop(worker)
