"""Which jobs exist: every domain's kinds (timers and outbox entries) and periodic jobs, declared in
``<domain>/jobs.py`` (``KINDS``, ``JOBS``; the declarations are in ``backend.hooks``).

A periodic job is a kind named ``periodic:<name>`` whose one row moves itself on after each run.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from backend.hooks import JobContext, JobKind, JobRow, PeriodicJob

# Modules with ``KINDS`` and/or ``JOBS`` (each listed module must exist).
JOB_MODULES = [
    "backend.audit.jobs",
    "backend.handoff.jobs",
    "backend.privacy.jobs",
    "backend.notices.jobs",
    "backend.claims.jobs",
]
PERIODIC_PREFIX = "periodic:"


@dataclass
class Registry:
    """Every registered kind by name, and the periodic jobs."""

    kinds: dict[str, JobKind] = field(default_factory=dict)
    periodic: list[PeriodicJob] = field(default_factory=list)

    def add(self, kind: JobKind) -> None:
        if kind.name in self.kinds:
            raise ValueError(f"job kind {kind.name} registered twice")
        self.kinds[kind.name] = kind

    def add_periodic(self, job: PeriodicJob) -> None:
        self.periodic.append(job)
        self.add(periodic_kind(job))

    def get(self, name: str) -> JobKind | None:
        return self.kinds.get(name)


def periodic_kind(job: PeriodicJob) -> JobKind:
    """The kind that runs a periodic job (its row is moved on by ``interval_s`` after each run; a
    failed run is tried again with backoff, never dead-lettered)."""

    def handler(ctx: JobContext, _session: Session, _row: JobRow) -> None:
        job.run(ctx)

    return JobKind(name=PERIODIC_PREFIX + job.name, handler=handler, max_attempts=1_000_000,
                   backoff_base_s=min(60.0, job.interval_s), backoff_cap_s=job.interval_s,
                   lease_s=max(120.0, min(job.interval_s, 3600.0)), every_s=job.interval_s)


def discover(modules: list[str] | None = None) -> Registry:
    """Every domain's kinds and periodic jobs."""
    registry = Registry()
    for module in map(importlib.import_module, JOB_MODULES if modules is None else modules):
        for kind in getattr(module, "KINDS", []):
            registry.add(kind)
        for job in getattr(module, "JOBS", []):
            registry.add_periodic(job)
    return registry
