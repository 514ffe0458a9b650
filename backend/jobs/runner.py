"""Claiming due rows and running them: the database side of the worker (no queue, no event loop).

* :func:`claim_due` takes due rows (and rows whose lease passed: their worker died or the queue lost
  the message) with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several pollers share the work
  without waiting on each other; on SQLite one guarded ``UPDATE … RETURNING`` (SQLite has one writer
  at a time). Each claim gives the row a new token and a queue lease (catalogue F-W1).
* :func:`execute` runs one claimed row (or a batch of one kind): it checks the token, runs the
  handler in a transaction and marks the row done in the same transaction, only if the token still
  matches. On PostgreSQL the row stays locked while its handler runs, so it cannot be claimed twice
  even when the handler is slow; on SQLite the transaction takes the write lock at once (one writer
  at a time: a local, one-machine mode) and the token decides.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Executable,
    Integer,
    and_,
    any_,
    bindparam,
    case,
    func,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from backend.db import session_scope
from backend.hooks import FastOutcome, JobContext, JobKind, JobRow, PermanentFailure, RetryLater
from backend.jobs.models import DEAD, DONE, PENDING, RUNNING, Job
from backend.jobs.registry import Registry
from backend.logs import error_text, is_database_error

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row claimed for one run: what a queue message carries (the payload only for a kind with a
    fast handler, on its first claim)."""

    id: int
    kind: str
    token: int
    payload: dict[str, Any] | None = None
    key: str | None = None


def backoff_s(kind: JobKind, attempts: int) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped, times a random factor in [0.5, 1.5)."""
    raw = min(kind.backoff_cap_s, kind.backoff_base_s * 2 ** max(0, attempts - 1))
    return float(raw * (0.5 + random.random()))


def in_flight(session: Session, *, now: dt.datetime) -> int:
    """Rows claimed and not yet finished whose lease still runs."""
    q = select(func.count()).select_from(Job).where(Job.state == RUNNING, Job.lease_until >= now)
    return int(session.scalar(q) or 0)


def claim_due(session: Session, *, now: dt.datetime, limit: int, lease_s: float,
              kinds: Sequence[str] | None = None, with_payload: Sequence[str] | None = None) -> list[Claimed]:
    """Claim up to ``limit`` due rows, oldest due first, for ``lease_s`` seconds (see module doc);
    the payloads of the ``with_payload`` kinds come back too (all when None).

    On PostgreSQL the rows whose lease passed are taken first, then the due ``pending`` rows, each
    in its own statement: each then reads its rows in order from its index (``state, lease_until``;
    ``state, due_at, id``) and stops after ``limit`` (one ``OR`` of the two read and sorted every due
    row for each claim: quadratic in their number), and ``id = ANY(ARRAY(…))`` finds the picked rows
    by primary key (``IN (…)`` was hashed against a scan of the whole table)."""
    values = {"state": RUNNING, "token": Job.token + 1, "attempts": Job.attempts + 1,
              "lease_until": now + dt.timedelta(seconds=lease_s), "updated_at": now}
    returning = (Job.id, Job.kind, Job.token,
                 Job.payload if with_payload is None else
                 case((Job.kind.in_(list(with_payload) or [""]), Job.payload), else_=null()), Job.key)
    postgres = session.get_bind().dialect.name == "postgresql"
    lapsed, waiting = and_(Job.state == RUNNING, Job.lease_until < now), and_(Job.state == PENDING,
                                                                              Job.due_at <= now)
    # SQLite: one writer at a time, one statement.
    picks = [lapsed, waiting] if postgres else [or_(waiting, lapsed)]
    out: list[Claimed] = []
    for due in picks:
        room = limit - len(out)
        if room <= 0:
            break
        pick = select(Job.id).where(due)
        if kinds is not None:
            pick = pick.where(Job.kind.in_(list(kinds)))
        pick = pick.order_by(Job.due_at, Job.id).limit(room)
        if postgres:
            chosen = Job.id == any_(func.array(pick.with_for_update(skip_locked=True).scalar_subquery()))
        else:
            chosen = Job.id.in_(pick.scalar_subquery())
        stmt = (update(Job).where(chosen).values(**values).returning(*returning)
                .execution_options(synchronize_session=False))
        out += [Claimed(int(i), str(k), int(t), p, key) for i, k, t, p, key in session.execute(stmt)]
    return out


def release(session: Session, claimed: Sequence[Claimed], *, now: dt.datetime) -> None:
    """Give claimed rows back at once (their queue messages could not be sent): due now again."""
    if not claimed:
        return
    stmt = (update(Job).where(Job.id == bindparam("jid"), Job.token == bindparam("tok"),
                              Job.state == RUNNING)
            .values(state=PENDING, attempts=Job.attempts - 1, lease_until=None, updated_at=now)
            .execution_options(synchronize_session=False))
    session.connection().execute(stmt, [{"jid": c.id, "tok": c.token} for c in claimed])


_COLUMNS = (Job.id, Job.kind, Job.key, Job.payload, Job.attempts, Job.token)


class _ByIds:
    """A statement on the rows whose ids are bound as ``ids``, in the form for each database, built once
    (building one costs more than running it): on PostgreSQL ``id = ANY(:ids)``, one array parameter
    (an ``IN`` list of a 2,000-row batch is 2,000 parameters to render and bind), elsewhere ``IN``."""

    def __init__(self, build: Callable[[ColumnElement[bool]], Executable]) -> None:
        self.postgres = build(Job.id == any_(bindparam("ids", type_=ARRAY(Integer))))
        self.other = build(Job.id.in_(bindparam("ids", expanding=True)))

    def on(self, conn: Connection) -> Executable:
        return self.postgres if conn.dialect.name == "postgresql" else self.other


_SELECT = _ByIds(lambda ids: select(*_COLUMNS).where(ids, Job.state == RUNNING))
_SELECT_LOCKED = _ByIds(lambda ids: select(*_COLUMNS).where(ids, Job.state == RUNNING)
                        .with_for_update(skip_locked=True))
_DONE = _ByIds(lambda ids: update(Job).where(ids, Job.state == RUNNING).values(
    state=DONE, lease_until=None, finished_at=bindparam("now"), updated_at=bindparam("now")))
_REARM = _ByIds(lambda ids: update(Job).where(ids, Job.state == RUNNING).values(
    state=PENDING, due_at=bindparam("due"), lease_until=None, attempts=0, last_error=None,
    updated_at=bindparam("now")))
_LATER = _ByIds(lambda ids: update(Job).where(ids, Job.state == RUNNING).values(
    state=PENDING, due_at=bindparam("due"), lease_until=None, attempts=Job.attempts - 1,
    last_error=bindparam("err"), updated_at=bindparam("now")))
_DEAD = _ByIds(lambda ids: update(Job).where(ids, Job.state == RUNNING).values(
    state=DEAD, lease_until=None, finished_at=bindparam("now"), updated_at=bindparam("now"),
    last_error=bindparam("err")))


class Executor:
    """Runs claimed rows with their registered handlers."""

    def __init__(self, ctx: JobContext, registry: Registry, *, group: Any = None,
                 fast_threads: int = 16) -> None:
        self.ctx = ctx
        self.registry = registry
        self.group = group  # a GroupCommitter (backend.jobs.group), for kinds with a fast handler
        self.fast_threads = fast_threads  # the outside calls of a batch of fast rows made at once
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def execute(self, claimed: Sequence[Claimed]) -> int:
        """Run claimed rows of ONE kind (one row, or a batch for a batch kind); how many finished."""
        if not claimed:
            return 0
        kind = self.registry.get(claimed[0].kind)
        if kind is None:
            log.error("no handler registered for job kind %s", claimed[0].kind)
            self._fail(claimed, None, "no handler registered", permanent=True)
            return 0
        if kind.fast is not None and self.group is not None and all(
                c.token == 1 and c.payload is not None and c.key is not None for c in claimed):
            if len(claimed) == 1:
                done = self._fast(kind, claimed[0])
                return done if done is not None else self._ordinary(kind, claimed)
            return self._fast_many(kind, claimed)
        return self._ordinary(kind, claimed)

    def _ordinary(self, kind: JobKind, claimed: Sequence[Claimed]) -> int:
        """Claimed rows run by the handler inside a transaction with their ``done`` marks."""
        tokens = {c.id: c.token for c in claimed}
        try:
            with session_scope(self.ctx.sessions, write=True) as session:
                conn = session.connection()
                rows = self._lock(conn, tokens)
                if not rows:
                    return 0
                ids = [r.id for r in rows]
                now = self.ctx.now()
                try:
                    if kind.batch_handler is not None:
                        again = kind.batch_handler(self.ctx, session, rows)
                    else:
                        assert kind.handler is not None
                        again = None
                        for row in rows:
                            again = kind.handler(self.ctx, session, row)
                except RetryLater as later:
                    conn.execute(_LATER.on(conn), {"ids": ids, "due": later.at, "err": later.reason[:500],
                                                   "now": now})
                    return 0
                except PermanentFailure as exc:
                    self._dead(session, kind, rows, error=str(exc) or type(exc).__name__)
                    return 0
                if kind.every_s is not None and again is None:
                    again = now + dt.timedelta(seconds=kind.every_s)
                if isinstance(again, dict):  # a batch: some rows armed again, each for its time
                    by_due: dict[dt.datetime, list[int]] = {}
                    for i, due in again.items():
                        if i in tokens:
                            by_due.setdefault(due, []).append(i)
                    done = 0
                    for due, same in by_due.items():  # usually one time for the whole batch
                        done += conn.execute(_REARM.on(conn), {"ids": same, "due": due, "now": now}).rowcount
                    rest = [i for i in ids if i not in again]
                    if rest:
                        done += conn.execute(_DONE.on(conn), {"ids": rest, "now": now}).rowcount
                elif again is not None:
                    done = conn.execute(_REARM.on(conn), {"ids": ids, "due": again, "now": now}).rowcount
                else:
                    done = conn.execute(_DONE.on(conn), {"ids": ids, "now": now}).rowcount
                if done != len(rows):
                    raise _Superseded()
                return int(done)
        except _Superseded:
            log.error("job %s: its handler changed its own row; nothing committed", kind.name)
            self._fail(claimed, kind, "handler changed its own row", permanent=False)
            return 0
        except Exception as exc:
            self._failed(claimed, kind, exc)
            return 0

    def _fast(self, kind: JobKind, c: Claimed) -> int | None:
        """A first claim through the fast handler; None when it declines (the ordinary way then)."""
        assert kind.fast is not None and c.payload is not None
        row = JobRow(id=c.id, kind=c.kind, key=c.key or "", payload=c.payload, attempts=1, token=c.token)
        try:
            outcome = kind.fast(self.ctx, row)
        except Exception as exc:
            self._failed([c], kind, exc)
            return 0
        if outcome is None:
            return None
        return int(self.group.commit(c, outcome))

    def _fast_many(self, kind: JobKind, claimed: Sequence[Claimed]) -> int:
        """First claims of a fast kind: their fast handlers side by side (``fast_threads`` at once in
        this process), their results in one group commit; a row whose handler declines goes the
        ordinary way (alone), one whose handler raised is a failed attempt."""
        assert kind.fast is not None

        def attempt(c: Claimed) -> FastOutcome | Exception | None:
            assert kind.fast is not None and c.payload is not None
            row = JobRow(id=c.id, kind=c.kind, key=c.key or "", payload=c.payload, attempts=1, token=c.token)
            try:
                return kind.fast(self.ctx, row)
            except Exception as exc:
                return exc

        results = list(self._fast_pool().map(attempt, claimed))
        ready = [(c, r) for c, r in zip(claimed, results, strict=True) if isinstance(r, FastOutcome)]
        done = int(self.group.commit_many(ready)) if ready else 0
        for c, r in zip(claimed, results, strict=True):
            if isinstance(r, Exception):
                self._failed([c], kind, r)
            elif r is None:
                done += self._ordinary(kind, [c])
        return done

    def _fast_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.fast_threads, thread_name_prefix="fast-job")
            return self._pool

    # -- steps ----------------------------------------------------------------------------------------
    @staticmethod
    def _lock(conn: Connection, tokens: dict[int, int]) -> list[JobRow]:
        """The claimed rows still ours: locked on PostgreSQL (a poller skips them while the handler
        runs, and nobody can cancel or move them until it commits); on SQLite the transaction holds
        the write lock (``BEGIN IMMEDIATE``) instead."""
        stmt = (_SELECT_LOCKED if conn.dialect.name == "postgresql" else _SELECT).on(conn)
        rows = [JobRow(*r) for r in conn.execute(stmt, {"ids": list(tokens)})]
        return sorted((r for r in rows if tokens.get(r.id) == r.token), key=lambda r: r.id)

    def _dead(self, session: Session, kind: JobKind, rows: list[JobRow], *, error: str) -> None:
        conn = session.connection()
        conn.execute(_DEAD.on(conn), {"ids": [r.id for r in rows], "now": self.ctx.now(),
                                      "err": error[:500]})
        if kind.on_dead is not None:
            for row in rows:
                kind.on_dead(self.ctx, session, row)
        log.error("job %s dead-lettered: %s", kind.name, error[:200])

    def _failed(self, claimed: Sequence[Claimed], kind: JobKind, exc: Exception) -> None:
        """A handler raised: logged and stored as :func:`error_text` (a database error's message, which
        carries the statement's parameters, never reaches the log or ``last_error``)."""
        text = error_text(exc)
        log.warning("job %s failed: %s", kind.name, text[:300], exc_info=not is_database_error(exc))
        self._fail(claimed, kind, text[:500], permanent=False)

    def _fail(self, claimed: Sequence[Claimed], kind: JobKind | None, error: str, *, permanent: bool) -> None:
        """A failed attempt: retry after a backoff, or dead-letter after ``max_attempts``."""
        now = self.ctx.now()
        with session_scope(self.ctx.sessions, write=True) as session:
            rows = self._lock(session.connection(), {c.id: c.token for c in claimed})
            for row in rows:
                values: dict[str, Any] = {"lease_until": None, "last_error": error[:500], "updated_at": now}
                if permanent or kind is None or row.attempts >= kind.max_attempts:
                    values.update(state=DEAD, finished_at=now)
                    log.error("job %s dead-lettered after %d attempts", row.kind, row.attempts)
                else:
                    delay = dt.timedelta(seconds=backoff_s(kind, row.attempts))
                    values.update(state=PENDING, due_at=now + delay)
                session.execute(update(Job).where(Job.id == row.id).values(**values)
                                .execution_options(synchronize_session=False))
                if values["state"] == DEAD and kind is not None and kind.on_dead is not None:
                    kind.on_dead(self.ctx, session, row)


class _Superseded(Exception):
    """The handler changed its own row: roll its work back."""
