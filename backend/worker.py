"""The job worker: periodic jobs, run in the API process locally or as ``python -m backend worker``.

Each domain declares its jobs (``backend.hooks.PeriodicJob``) in the module named here. A Redis lock
per job and period keeps several workers from running the same job at the same time; if Redis is
down the job is skipped for that period and retried later.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time

from backend.hooks import JobContext, PeriodicJob
from backend.runtime import Runtime

log = logging.getLogger(__name__)

# Modules with ``JOBS: list[PeriodicJob]`` (each listed module must exist).
JOB_MODULES = ["backend.handoff.jobs", "backend.privacy.jobs"]

__all__ = ["JOB_MODULES", "PeriodicJob", "WorkerThread", "discover_jobs", "job_context", "run_due_jobs"]


def discover_jobs() -> list[PeriodicJob]:
    """Every domain's periodic jobs."""
    jobs: list[PeriodicJob] = []
    for module in map(importlib.import_module, JOB_MODULES):
        jobs.extend(module.JOBS)
    return jobs


def job_context(runtime: Runtime) -> JobContext:
    """The part of the runtime a job may use."""
    return JobContext(sessions=runtime.sessions, redis=runtime.redis, cipher=runtime.cipher,
                      catalog=runtime.catalog)


def run_due_jobs(runtime: Runtime, jobs: list[PeriodicJob], last_run: dict[str, float],
                 *, now: float | None = None) -> list[str]:
    """Run the jobs whose interval has passed; returns the names that ran."""
    now = time.time() if now is None else now
    context = job_context(runtime)
    ran = []
    for job in jobs:
        if now - last_run.get(job.name, 0.0) < job.interval_s:
            continue
        slot = int(now // job.interval_s)
        try:
            acquired = runtime.redis.set(f"job:{job.name}:{slot}", b"1", nx=True, ex=int(job.interval_s) + 60)
        except Exception as exc:
            log.warning("job %s skipped: redis unavailable (%s)", job.name, type(exc).__name__)
            continue
        last_run[job.name] = now
        if not acquired:
            continue
        try:
            job.run(context)
            ran.append(job.name)
        except Exception:
            log.exception("job %s failed", job.name)
    return ran


class WorkerThread(threading.Thread):
    """Runs due jobs every ``tick_s`` seconds until stopped."""

    def __init__(self, runtime: Runtime, *, tick_s: float = 5.0) -> None:
        super().__init__(name="job-worker", daemon=True)
        self.runtime = runtime
        self.tick_s = tick_s
        self.jobs = discover_jobs()
        self._stop_event = threading.Event()
        self._last_run: dict[str, float] = {}

    def run(self) -> None:
        while not self._stop_event.is_set():
            run_due_jobs(self.runtime, self.jobs, self._last_run)
            self._stop_event.wait(self.tick_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
