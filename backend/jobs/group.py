"""Group commit for fast handlers: many rows' results in one transaction.

A fast handler (``JobKind.fast``) makes its outside call without a transaction; its result and the
row's ``done`` mark are then written together with the results of the other rows finishing at the
same moment (up to ``max_items``, waiting at most ``window_s`` for more while others are under way).
Each row is written only if its token still matches (its claim is still the current one), under
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite. The caller's thread waits
until its row is committed, so the queue message is acknowledged only after that.

If the commit fails, every row of the group stays ``running`` and is claimed again when its lease
passes; the next run goes the ordinary way (its token is no longer 1), with the same idempotency key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, update

from backend.db import session_scope
from backend.hooks import FastOutcome, JobContext
from backend.jobs.models import PENDING, RUNNING, Job
from backend.jobs.runner import _DONE, Claimed, Executor

log = logging.getLogger(__name__)

_LATER_ONE = (update(Job).where(Job.id == bindparam("jid"), Job.state == RUNNING)
              .values(state=PENDING, due_at=bindparam("due"), lease_until=None, attempts=Job.attempts - 1,
                      updated_at=bindparam("now")))


@dataclass
class _Item:
    claimed: Claimed
    outcome: FastOutcome
    done: threading.Event = field(default_factory=threading.Event)
    result: int = 0


class GroupCommitter:
    """Commits fast handlers' results in groups (see the module doc)."""

    def __init__(self, ctx: JobContext, *, window_s: float = 0.005, max_items: int = 200) -> None:
        self.ctx = ctx
        self.window_s = window_s
        self.max_items = max_items
        self._lock = threading.Lock()
        self._pending: list[_Item] = []
        self._leader = False

    def commit(self, claimed: Claimed, outcome: FastOutcome, *, timeout: float = 60.0) -> int:
        """Write this row's result with its ``done`` mark; 1 when committed, 0 otherwise."""
        return self.commit_many([(claimed, outcome)], timeout=timeout)

    def commit_many(self, results: Sequence[tuple[Claimed, FastOutcome]], *, timeout: float = 60.0) -> int:
        """:meth:`commit` for several rows at once (they may share a group with others); how many
        were committed ``done``."""
        items = [_Item(c, o) for c, o in results]
        if not items:
            return 0
        with self._lock:
            self._pending.extend(items)
            lead = not self._leader
            if lead:
                self._leader = True
        if lead:  # this thread writes the group; followers wait for it
            if len(items) < self.max_items:
                items[0].done.wait(self.window_s)  # let the rows finishing now join
            while True:
                with self._lock:
                    batch, self._pending = self._pending[: self.max_items], self._pending[self.max_items:]
                    if not batch:
                        self._leader = False
                        break
                self._flush(batch)
        deadline = time.monotonic() + timeout
        for item in items:
            item.done.wait(max(0.0, deadline - time.monotonic()))
        return sum(item.result for item in items)

    def _flush(self, batch: list[_Item]) -> None:
        now = self.ctx.now()
        try:
            with session_scope(self.ctx.sessions, write=True) as session:
                conn = session.connection()
                current = {r.id for r in Executor._lock(conn, {i.claimed.id: i.claimed.token for i in batch})}
                mine = [i for i in batch if i.claimed.id in current]
                rows: dict[Any, list[dict[str, Any]]] = {}
                for item in mine:
                    item.outcome.record(session)
                    if item.outcome.insert is not None:
                        table, values = item.outcome.insert
                        rows.setdefault(table, []).append(values)
                session.flush()
                for table, values_list in rows.items():
                    conn.execute(insert(table), values_list)
                done = [i.claimed.id for i in mine if i.outcome.retry_at is None]
                if done:
                    conn.execute(_DONE.on(conn), {"ids": done, "now": now})
                later = [{"jid": i.claimed.id, "due": i.outcome.retry_at, "now": now}
                         for i in mine if i.outcome.retry_at is not None]
                if later:
                    conn.execute(_LATER_ONE, later)
            for item in mine:
                item.result = 1 if item.outcome.retry_at is None else 0
        except Exception as exc:  # the rows are claimed again when their leases pass
            log.warning("group commit of %d jobs failed: %s", len(batch), type(exc).__name__)
        finally:
            for item in batch:
                item.done.set()
