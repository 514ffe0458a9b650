"""Start-up: what the domains registered, run once the runtime is built (the lifespan, ``worker``).

- ``STARTUP_MODULES``: modules with ``startup(runtime) -> None``, run in this order.
- ``CALENDAR_HOOK_MODULES``: modules with ``CALENDAR_HOOKS`` (``backend.hooks.CalendarHook``): data
  derived from the holiday calendar, recomputed after the hooks above and by ``calendar reload``.
"""

from __future__ import annotations

import gc
import importlib
import logging

from sqlalchemy.orm import Session, sessionmaker

from backend.calendar.service import WorkingCalendar
from backend.db import session_scope
from backend.hooks import CalendarHook
from backend.runtime import Runtime

log = logging.getLogger(__name__)

# The calendar's hook logs the years without holiday data and registers the readiness warning; the
# staff hook creates the demo accounts in local mode; the notices hook puts the notices sent on
# claim timelines.
STARTUP_MODULES = ["backend.calendar.startup", "backend.staff.startup", "backend.notices.startup"]
# Provisional deadlines of claims and complaints.
CALENDAR_HOOK_MODULES = ["backend.claims.startup", "backend.complaints.startup"]


def calendar_hooks() -> list[CalendarHook]:
    """Every domain's calendar hooks, in registration order."""
    return [hook for module in map(importlib.import_module, CALENDAR_HOOK_MODULES)
            for hook in module.CALENDAR_HOOKS]


def recompute_calendar_data(sessions: sessionmaker[Session],
                            calendar: WorkingCalendar) -> list[tuple[CalendarHook, int]]:
    """Run every calendar hook in one transaction; each hook with the number of records it changed."""
    with session_scope(sessions) as session:
        return [(hook, hook.recompute(session, calendar)) for hook in calendar_hooks()]


def on_startup(runtime: Runtime) -> None:
    """Run every domain's start-up hook, then recompute what derives from the calendar."""
    for module in map(importlib.import_module, STARTUP_MODULES):
        module.startup(runtime)
    changed = recompute_calendar_data(runtime.sessions, runtime.calendar)
    if any(count for _hook, count in changed):
        log.info("recomputed provisional deadlines: %s",
                 ", ".join(f"{count} {hook.name}" for hook, count in changed))


_frozen = False


def freeze_startup_objects() -> bool:
    """Take what start-up built (the NLU model and jieba dictionary, SQLAlchemy metadata, products,
    settings...) out of the cyclic garbage collector's reach, once per process.

    They live as long as the process, yet every full collection walks them all, a latency spike for
    the requests under way. Objects created later are collected as usual. Returns False when it was
    already done.
    """
    global _frozen
    if _frozen:
        return False
    gc.collect()
    gc.freeze()
    _frozen = True
    return True
