"""What a handoff state change does outside the database (console events, the Redis mirror of
agent-owned conversations), run only after the caller's transaction commits: services never commit,
and a console must not see a change that was rolled back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from backend.handoff import events
from backend.jobs import service as jobs

log = logging.getLogger(__name__)
_KEY = "handoff.after_commit"


def _run(session: Session) -> None:
    pending: list[Callable[[], None]] = session.info.pop(_KEY, [])
    for action in pending:
        try:
            action()
        except (redis.RedisError, OSError) as exc:  # the stream / mirror is repaired or re-read
            log.warning("handoff after-commit action failed: %s", type(exc).__name__)


def _drop(session: Session) -> None:
    session.info.pop(_KEY, None)


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's transaction commits (dropped on rollback)."""
    if not session.info.get(_KEY + ".listening"):
        event.listen(session, "after_commit", _run)
        event.listen(session, "after_rollback", _drop)
        session.info[_KEY + ".listening"] = True
    session.info.setdefault(_KEY, []).append(action)


def emit(session: Session, client: redis.Redis | None, type: str, data: dict[str, Any]) -> None:
    """Publish a console event after commit (no Redis given: nothing to publish)."""
    if client is not None:
        after_commit(session, lambda: _publish(client, type, data))


def _publish(client: redis.Redis, type: str, data: dict[str, Any]) -> None:
    events.publish(client, type, data)


def wake_worker(session: Session, client: redis.Redis | None) -> None:
    """A message for the customer was queued (a job due now): wake a job poller once this commits."""
    if client is not None:
        after_commit(session, lambda: jobs.wake(client))
