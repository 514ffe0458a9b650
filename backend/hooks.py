"""What a domain registers for the process to run: periodic jobs, and data to recompute when the
holiday calendar loads. Declarations only: ``backend.worker`` and ``backend.startup`` run them.

- ``<domain>/jobs.py`` lists ``JOBS: list[PeriodicJob]`` (module named in ``backend.worker.JOB_MODULES``).
  A job gets a :class:`JobContext`, not the whole runtime; it takes ids, not objects, and may run twice
  (every side effect has its own idempotency key).
- ``<domain>/startup.py`` lists ``CALENDAR_HOOKS: list[CalendarHook]`` (module named in
  ``backend.startup.CALENDAR_HOOK_MODULES``), run at start-up and by ``python -m backend calendar reload``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis
from sqlalchemy.orm import Session, sessionmaker

from backend.calendar.service import WorkingCalendar
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher


@dataclass(frozen=True)
class JobContext:
    """What a job may use: database sessions (one ``session_scope`` per unit of work), Redis, the
    field cipher and the product catalog."""

    sessions: sessionmaker[Session]
    redis: redis.Redis
    cipher: FieldCipher
    catalog: ProductCatalog


@dataclass(frozen=True)
class PeriodicJob:
    """A job run every ``interval_s`` seconds (once per period across all workers)."""

    name: str
    interval_s: float
    run: Callable[[JobContext], object]


@dataclass(frozen=True)
class CalendarHook:
    """Data a domain derives from the holiday calendar (provisional deadlines), recomputed when it loads.

    ``recompute`` runs in the caller's transaction and returns how many records changed; ``name`` reads
    in the start-up log line and ``unit`` in the summary of ``calendar reload`` (e.g. ``个案件``).
    """

    name: str
    unit: str
    recompute: Callable[[Session, WorkingCalendar], int]
