"""The timer and outbox API (call it inside the transaction of the change that causes the job), and
what staff may do with dead-lettered jobs.

    schedule(session, kind="handoff.sla", key="42", due_at=now + 2 min, payload={"level": 1})
    cancel(session, kind="handoff.sla", key="42")

Each ``(kind, key)`` is one row: scheduling it again moves it (a retried change does not add a second
timer), and a row that already ran is armed again. The row is written in the caller's transaction, so
it exists exactly when the change that caused it committed (catalogue F-W2). A registered handler
per kind (``backend.jobs.registry``) runs it once when it is due, on whichever worker claims it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.errors import Conflict, NotFound, ServiceError
from backend.jobs.models import CANCELLED, DEAD, OPEN, PENDING, RUNNING, Job

MAX_PAGE = 200
_MAX_KEY = 160


def _check(kind: str, key: str) -> None:
    if not kind or len(kind) > 64:
        raise ServiceError("invalid_job_kind", "任务类型不对", detail={"kind": kind})
    if not key or len(key) > _MAX_KEY:
        raise ServiceError("invalid_job_key", "任务编号不对", detail={"key": key[:40]})


# Many rows on PostgreSQL: one statement with one parameter (a JSON array), not one per row.
_PG_BULK = text(
    "INSERT INTO jobs (kind, key, state, due_at, payload, attempts, token, created_at, updated_at) "
    "SELECT r.kind, r.key, 'pending', r.due_at, r.payload, 0, 0, r.created_at, r.created_at "
    "FROM json_to_recordset(CAST(:rows AS json)) AS r(kind text, key text, due_at timestamptz, payload json, "
    "created_at timestamptz) ON CONFLICT (kind, key) DO NOTHING")
_BULK_MIN = 50


def _upsert(session: Session, rows: Sequence[dict[str, Any]], *, replace: bool) -> None:
    """Insert rows; an existing (kind, key) is re-armed (``replace``) or left alone."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and not replace and len(rows) >= _BULK_MIN:
        data = [{"kind": r["kind"], "key": r["key"], "due_at": r["due_at"].isoformat(),
                 "payload": r["payload"], "created_at": r["created_at"].isoformat()} for r in rows]
        session.connection().execute(_PG_BULK, {"rows": json.dumps(data, ensure_ascii=False)})
        return
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Job)
    if replace:
        stmt = stmt.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={"state": PENDING, "due_at": stmt.excluded.due_at, "payload": stmt.excluded.payload,
                  "attempts": 0, "last_error": None, "lease_until": None, "finished_at": None,
                  "updated_at": stmt.excluded.updated_at},
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["kind", "key"])
    session.connection().execute(stmt, list(rows))


def _row(kind: str, key: str, due_at: dt.datetime, payload: dict[str, Any] | None,
         now: dt.datetime) -> dict[str, Any]:
    _check(kind, key)
    if due_at.tzinfo is None:
        raise ValueError("due_at must be an aware datetime")
    return {"kind": kind, "key": key, "state": PENDING, "due_at": due_at, "payload": payload or {},
            "attempts": 0, "token": 0, "created_at": now, "updated_at": now}


def schedule(
    session: Session,
    *,
    kind: str,
    key: str,
    due_at: dt.datetime,
    payload: dict[str, Any] | None = None,
    replace: bool = True,
    now: dt.datetime | None = None,
) -> None:
    """Arm the timer ``(kind, key)`` for ``due_at`` (moving it if it exists; ``replace=False`` keeps
    an existing one as it is: an outbox entry written once)."""
    now = now or utcnow()
    _upsert(session, [_row(kind, key, due_at, payload, now)], replace=replace)


# A job due now (a message for a customer) need not wait for the next poll: its writer pushes a token
# here after commit, and a sleeping poller (backend.worker) wakes on it.
WAKE_KEY = "cs:jobs:wake"


def wake(client: redis.Redis) -> None:
    """Wake a sleeping job poller (call after the transaction that scheduled a job due now commits);
    Redis down: the poller finds the job at its next poll anyway."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.lpush(WAKE_KEY, 1)
        pipe.ltrim(WAKE_KEY, 0, 7)  # a few tokens are enough: each wakes one poller
        pipe.execute()
    except redis.RedisError:
        pass


def schedule_many(
    session: Session,
    *,
    kind: str,
    items: Iterable[tuple[str, dt.datetime, dict[str, Any] | None]],
    replace: bool = True,
    now: dt.datetime | None = None,
) -> int:
    """:func:`schedule` for many ``(key, due_at, payload)`` of one kind in one statement; the count."""
    now = now or utcnow()
    rows = [_row(kind, key, due, payload, now) for key, due, payload in items]
    if rows:
        _upsert(session, rows, replace=replace)
    return len(rows)


def cancel(session: Session, *, kind: str, key: str, now: dt.datetime | None = None) -> bool:
    """Disarm the timer ``(kind, key)``; False when there was none waiting or running.

    A handler already running for it commits nothing (its finish no longer matches)."""
    _check(kind, key)
    result = session.execute(
        update(Job).where(Job.kind == kind, Job.key == key, Job.state.in_(OPEN))
        .values(state=CANCELLED, finished_at=now or utcnow(), updated_at=now or utcnow(),
                lease_until=None, token=Job.token + 1)
        .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def cancel_waiting(session: Session, *, kind: str, key_prefix: str, key_suffix: str = "", keep: str = "",
                   now: dt.datetime | None = None) -> int:
    """Disarm every pending ``kind`` row whose key starts with ``key_prefix`` (and ends with
    ``key_suffix``), except ``keep``; running ones are left to finish. How many."""
    pattern = f"{_like_escape(key_prefix)}%{_like_escape(key_suffix)}"
    result = session.execute(
        update(Job).where(Job.kind == kind, Job.key.like(pattern, escape="\\"), Job.key != keep,
                          Job.state == PENDING)
        .values(state=CANCELLED, finished_at=now or utcnow(), updated_at=now or utcnow(), token=Job.token + 1)
        .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def get_job(session: Session, *, kind: str, key: str) -> Job | None:
    """The row of ``(kind, key)``, if any."""
    return session.scalar(select(Job).where(Job.kind == kind, Job.key == key))


def count_by_state(session: Session, *, kind: str | None = None) -> dict[str, int]:
    """How many rows are in each state (optionally of one kind)."""
    q = select(Job.state, func.count()).group_by(Job.state)
    if kind is not None:
        q = q.where(Job.kind == kind)
    return {state: int(n) for state, n in session.execute(q)}


def list_dead(session: Session, *, kind: str | None = None, limit: int = 50, offset: int = 0) -> list[Job]:
    """Dead-lettered jobs, most recent first (for staff)."""
    q = select(Job).where(Job.state == DEAD)
    if kind is not None:
        q = q.where(Job.kind == kind)
    q = q.order_by(Job.finished_at.desc(), Job.id.desc())
    return list(session.scalars(q.limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))))


def resend(session: Session, *, job_id: int, now: dt.datetime | None = None) -> Job:
    """Give a dead-lettered job a fresh set of attempts, due now (a staff decision)."""
    now = now or utcnow()
    row = session.get(Job, job_id)
    if row is None:
        raise NotFound("job_not_found", "找不到这个任务")
    if row.state != DEAD:
        raise Conflict("job_not_dead", "只有发送失败的任务才能重发", detail={"state": row.state})
    row.state, row.due_at, row.attempts, row.lease_until, row.finished_at = PENDING, now, 0, None, None
    row.updated_at = now
    session.flush()
    return row


def is_waiting(session: Session, *, kind: str, key: str) -> bool:
    """True while ``(kind, key)`` is armed (pending or running)."""
    return session.scalar(select(Job.id).where(Job.kind == kind, Job.key == key,
                                               Job.state.in_((PENDING, RUNNING)))) is not None
