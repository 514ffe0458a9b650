"""What a domain registers for the process to run: jobs (periodic jobs, timers and outbox entries),
and data to recompute when the holiday calendar loads. Declarations only: ``backend.worker`` and
``backend.startup`` run them.

- ``<domain>/jobs.py`` lists ``JOBS: list[PeriodicJob]`` and/or ``KINDS: list[JobKind]`` (module named
  in ``backend.jobs.registry.JOB_MODULES``). A job gets a :class:`JobContext`, not the whole runtime;
  it takes ids, not objects, and may run twice (every side effect has its own idempotency key).
- ``<domain>/startup.py`` lists ``CALENDAR_HOOKS: list[CalendarHook]`` (module named in
  ``backend.startup.CALENDAR_HOOK_MODULES``), run at start-up and by ``python -m backend calendar reload``.

A :class:`JobKind` handler gets the context, the open transaction and its row (:class:`JobRow`: key,
payload, attempts). Whatever it writes in that session commits together with the row's ``done``
mark, or not at all: a timer's effect happens exactly once even with several workers. Returning a
time arms the same row again for then (a recurring timer); a handler never schedules or cancels its
own row. A handler that calls an outside service must make that call idempotent itself (a key the
service de-duplicates on), since a worker may die after the call and before the commit. It may raise
:class:`RetryLater` (again at a given time, not a failed attempt) or :class:`PermanentFailure`
(dead-letter now); any other exception is a failed attempt, retried with backoff and jitter until
``max_attempts``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from sqlalchemy.orm import Session, sessionmaker

from backend.calendar.service import WorkingCalendar
from backend.db import utcnow
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher


@dataclass(frozen=True)
class JobContext:
    """What a job may use: database sessions (one ``session_scope`` per unit of work), Redis, the
    field cipher, the product catalog, the working-day calendar, the settings, the outside services
    (``services``: ``"wechat"``, ``"miniprogram"``, ``"sms"``… present when configured), the clock, and
    where the audit checkpoints go (outside the database)."""

    sessions: sessionmaker[Session]
    redis: redis.Redis
    cipher: FieldCipher
    catalog: ProductCatalog
    audit_anchor_dir: Path | None = None
    calendar: WorkingCalendar | None = None
    settings: Any = None
    services: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], dt.datetime] = utcnow

    def now(self) -> dt.datetime:
        """The current UTC time (a test clock when set)."""
        return self.clock()

    def working_calendar(self) -> WorkingCalendar:
        """The calendar (every worker's context has one)."""
        if self.calendar is None:
            raise RuntimeError("this job context has no working-day calendar")
        return self.calendar


@dataclass(frozen=True)
class PeriodicJob:
    """A job run every ``interval_s`` seconds (once per period across all workers)."""

    name: str
    interval_s: float
    run: Callable[[JobContext], object]


@dataclass(frozen=True, slots=True)
class JobRow:
    """What a handler sees of its row."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int
    token: int


# A handler returns None (the row is done) or a time: the row is armed again for then.
Handler = Callable[[JobContext, Session, JobRow], "dt.datetime | None"]
# A batch handler may also return ``{row id: time}``: those rows are armed again, the others done.
BatchHandler = Callable[[JobContext, Session, list[JobRow]], "dt.datetime | dict[int, dt.datetime] | None"]
DeadHandler = Callable[[JobContext, Session, JobRow], None]


@dataclass(frozen=True)
class FastOutcome:
    """What a fast handler did: ``record`` writes its result (in a transaction shared with other rows,
    committed with their ``done`` marks), and ``insert`` a row ``(table, values)`` inserted together
    with the same table's rows of the group (one statement, no ORM object); ``retry_at`` arms the
    row again instead (not a failure)."""

    record: Callable[[Session], None]
    retry_at: dt.datetime | None = None
    insert: tuple[Any, dict[str, Any]] | None = None


# Runs a row's first claim outside any transaction, from the payload the queue message carries; None
# sends it the ordinary way (``handler``).
FastHandler = Callable[[JobContext, JobRow], "FastOutcome | None"]


@dataclass(frozen=True)
class JobKind:
    """A kind of job (timer or outbox entry): its handler and retry policy.

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
    # The first run of a row, without a transaction of its own: one outside call whose result is
    # group-committed with other rows' (``backend.jobs.group``). Only for a call made idempotent by
    # its own key: a stale queue message may run it on a row another worker has claimed since.
    fast: FastHandler | None = None

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.batch_handler is None):
            raise ValueError(f"job kind {self.name}: give exactly one of handler and batch_handler")
        if self.batch_handler is not None and self.batch_size < 2:
            raise ValueError(f"job kind {self.name}: a batch handler needs batch_size >= 2")


class RetryLater(Exception):
    """Run the job again at ``at`` (not a failed attempt: quiet hours, a rate limit, a later check)."""

    def __init__(self, at: dt.datetime, reason: str) -> None:
        super().__init__(reason)
        self.at = at
        self.reason = reason


class PermanentFailure(Exception):
    """The job can never succeed as it is: dead-letter it now (staff may fix the cause and resend)."""


@dataclass(frozen=True)
class CalendarHook:
    """Data a domain derives from the holiday calendar (provisional deadlines), recomputed when it loads.

    ``recompute`` runs in the caller's transaction and returns how many records changed; ``name`` reads
    in the start-up log line and ``unit`` in the summary of ``calendar reload`` (e.g. ``个案件``).
    """

    name: str
    unit: str
    recompute: Callable[[Session, WorkingCalendar], int]
