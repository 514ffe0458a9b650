"""What a domain registers with the job queue: kinds of jobs (timers and outbox entries) with their
handler, and periodic jobs. Declarations only; ``backend.jobs.runner`` runs them.

A domain lists them in ``<domain>/jobs.py`` as ``KINDS: list[JobKind]`` and/or
``PERIODIC: list[PeriodicJob]`` (module named in :data:`JOB_MODULES`).

A handler gets a :class:`JobContext`, the open transaction and the claimed row (``JobRow``: key,
payload, attempts). Whatever it writes in that session commits together with the row's ``done`` mark,
or not at all: a timer's effect happens exactly once even with several workers. Returning a time arms
the same row again for then (a recurring timer); a handler never schedules or cancels its own row.
A handler that calls an outside service must make that call
idempotent itself (a key the service de-duplicates on), since a worker may die after the call and
before the commit. It may raise :class:`RetryLater` (try again at a given time, not counted as a
failed attempt) or :class:`PermanentFailure` (dead-letter at once); any other exception is a failed
attempt, retried with backoff and jitter until ``max_attempts``.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis
from sqlalchemy.orm import Session, sessionmaker

from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher

if TYPE_CHECKING:
    from backend.calendar.service import WorkingCalendar
    from backend.jobs.runner import JobRow

# Modules with ``KINDS`` and/or ``PERIODIC`` (each listed module must exist).
JOB_MODULES = [
    "backend.handoff.jobs",
    "backend.privacy.jobs",
    "backend.notifications.jobs",
    "backend.claims.jobs",
]


@dataclass(frozen=True)
class JobContext:
    """What a handler may use: sessions, Redis, the cipher, the products, the calendar, the outside
    services (``services``: e.g. ``"wechat"``, ``"sms"``, ``"storage"``, absent when not configured),
    the settings and the clock."""

    sessions: sessionmaker[Session]
    redis: redis.Redis
    cipher: FieldCipher
    catalog: ProductCatalog
    calendar: WorkingCalendar
    settings: Any
    services: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], dt.datetime] | None = None

    def now(self) -> dt.datetime:
        """The current UTC time (a test clock when set)."""
        from backend.db import utcnow

        return self.clock() if self.clock is not None else utcnow()


# A handler returns None (the row is done) or a time: the row is armed again for then (a recurring
# timer that moves itself on).
Handler = Callable[[JobContext, Session, "JobRow"], "dt.datetime | None"]
# A batch handler may also return ``{row id: time}``: those rows are armed again, the others done.
BatchHandler = Callable[[JobContext, Session, "list[JobRow]"], "dt.datetime | dict[int, dt.datetime] | None"]
DeadHandler = Callable[[JobContext, Session, "JobRow"], None]


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its handler and retry policy.

    ``batch_size > 1`` declares a handler of database work only (no outside call): the poller hands it
    up to that many due rows in one task and one transaction (``batch_handler``).
    """

    name: str
    handler: Handler | None = None
    batch_handler: BatchHandler | None = None
    batch_size: int = 1
    max_attempts: int = 5
    backoff_base_s: float = 10.0
    backoff_cap_s: float = 3600.0
    lease_s: float = 120.0
    # Set for a periodic job: after a run the row waits this long and runs again (never ``done``).
    every_s: float | None = None
    # Called in the transaction that dead-letters a row (e.g. mark the notice failed).
    on_dead: DeadHandler | None = None

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.batch_handler is None):
            raise ValueError(f"job kind {self.name}: give exactly one of handler and batch_handler")
        if self.batch_handler is not None and self.batch_size < 2:
            raise ValueError(f"job kind {self.name}: a batch handler needs batch_size >= 2")


@dataclass(frozen=True)
class PeriodicJob:
    """A job run every ``interval_s`` seconds, once per period across all workers (a timer row that
    reschedules itself)."""

    name: str
    interval_s: float
    run: Callable[[JobContext], object]


class RetryLater(Exception):
    """Run the job again at ``at`` (not a failed attempt: quiet hours, a rate limit, a later check)."""

    def __init__(self, at: dt.datetime, reason: str) -> None:
        super().__init__(reason)
        self.at = at
        self.reason = reason


class PermanentFailure(Exception):
    """The job can never succeed as it is: dead-letter it now (staff may fix the cause and resend)."""


@dataclass
class Registry:
    """Every registered kind by name (periodic jobs are kinds named ``periodic:<name>``)."""

    kinds: dict[str, JobKind] = field(default_factory=dict)
    periodic: list[PeriodicJob] = field(default_factory=list)

    def add(self, kind: JobKind) -> None:
        if kind.name in self.kinds:
            raise ValueError(f"job kind {kind.name} registered twice")
        self.kinds[kind.name] = kind

    def get(self, name: str) -> JobKind | None:
        return self.kinds.get(name)


PERIODIC_PREFIX = "periodic:"


def periodic_kind(job: PeriodicJob) -> JobKind:
    """The kind that runs a periodic job (its row is moved on by ``interval_s`` after each run)."""

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
        for job in getattr(module, "PERIODIC", []):
            registry.periodic.append(job)
            registry.add(periodic_kind(job))
    return registry
