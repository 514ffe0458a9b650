"""Group commit for the webhook's fast path: many turns, one transaction (``docs/wechat.md``).

The committer stores the turn and inbox rows of the turns queued and resolves each waiting request
with an outcome: :class:`Committed`, :class:`Duplicate` (a copy committed elsewhere first: the
winner's answer) or :class:`Failed`. It knows nothing of Redis nor of the requests: what follows a
commit (the Redis finish, the replies) is the caller's. Two strategies share :meth:`Committer.store`:
:class:`InlineCommitter` (SQLite: the commit is a local file write, done in the event loop) and
:class:`ThreadCommitter` (PostgreSQL: a commit waits on the network, a thread does it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from backend.conversations import service as conv
from bot.safe_log import log_failure

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Committed:
    """The rows are stored."""


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A copy of the message committed first: its encrypted answer ("" for none); nothing stored."""

    winner: str


@dataclass(frozen=True, slots=True)
class Failed:
    """The rows could not be stored (database down): nothing stored."""


Outcome = Committed | Duplicate | Failed
COMMITTED, FAILED = Committed(), Failed()


@dataclass(slots=True)  # (not frozen: built for every message)
class CommitItem:
    """One turn to store."""

    msg_key: str
    turn_row: dict[str, Any] | None
    inbox_row: dict[str, Any]
    reply_enc: str  # to tell our own row (a commit whose acknowledgement was lost) from a winner's


class Ticket:
    """A request's claim on its commit's outcome, awaited within the passive-reply budget.

    :meth:`stop_waiting` (in the loop, when the budget runs out) resolves :attr:`future` with None at
    once and returns the future that will carry the outcome instead.
    """

    __slots__ = ("future", "late")

    def __init__(self, future: asyncio.Future[Outcome | None]) -> None:
        self.future = future
        self.late: asyncio.Future[Outcome] | None = None

    def stop_waiting(self) -> asyncio.Future[Outcome] | None:
        """Stop waiting (None when the outcome came first)."""
        if self.future.done():
            return None
        self.late = self.future.get_loop().create_future()
        self.future.set_result(None)
        return self.late

    def resolve(self, outcome: Outcome) -> None:
        """Hand the outcome over (in the loop)."""
        if not self.future.done():
            self.future.set_result(outcome)
        elif self.late is not None and not self.late.done():
            self.late.set_result(outcome)


class WriteLock(Protocol):
    """``threading.Lock`` (SQLite: one writer) or a lock that never blocks (PostgreSQL)."""

    def acquire(self, blocking: bool = True) -> bool: ...

    def release(self) -> None: ...


class Committer:
    """Stores batches of turns (see the module docstring); :func:`make_committer` picks the strategy."""

    inline = False

    def __init__(self, *, engine: Engine, db_lock: WriteLock, max_batch: int = 64,
                 window_s: float = 0.0) -> None:
        self.engine = engine
        self.db_lock = db_lock
        self.max_batch = max_batch
        self.window_s = window_s  # how long a turn may wait for the turns still under way
        self.underway = 0  # fast-path turns between their claim and their submit
        self._conn: Connection | None = None
        self.batches = 0  # counters for the benchmark and tests
        self.items = 0

    def turn_started(self) -> None:
        """A turn that will submit soon is under way (the batch may wait for it)."""
        self.underway += 1

    def turn_ended(self, loop: asyncio.AbstractEventLoop) -> None:
        """That turn submitted, or will not."""
        self.underway -= 1

    def submit(self, item: CommitItem) -> Ticket:
        """Queue ``item`` (from the event loop); its ticket resolves once it is stored or failed."""
        raise NotImplementedError

    def close(self) -> None:
        """Finish what is queued and release the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def store(self, batch: list[CommitItem]) -> list[Outcome]:
        """Insert the rows of ``batch`` in one transaction (one by one after a duplicate); the caller
        holds ``db_lock``."""
        for attempt in (1, 2):
            try:
                self._insert(batch)
                return [COMMITTED] * len(batch)
            except IntegrityError:
                return self._one_by_one(batch)
            except DBAPIError as exc:
                self._drop_connection()
                if exc.connection_invalidated and attempt == 1:
                    continue  # the connection was dropped (database restarted): once more
                break
            except SQLAlchemyError:
                self._drop_connection()
                break
        log.error("could not store %d WeChat message(s); answering 503 so WeChat retries", len(batch))
        return [FAILED] * len(batch)

    def _stored(self, batch: list[CommitItem]) -> list[Outcome]:
        try:
            outcomes = self.store(batch)
        except Exception as exc:  # a bug here must not stop the committer: fail the batch, keep going
            log_failure(log, "group commit failed", exc)
            outcomes = [FAILED] * len(batch)
        self.batches += 1
        self.items += len(batch)
        return outcomes

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None

    def _insert(self, items: list[CommitItem]) -> None:
        conn = self._connection()
        with conn.begin():
            conv.insert_rows(conn, turns=[i.turn_row for i in items if i.turn_row is not None],
                             inbox=[i.inbox_row for i in items])

    def _one_by_one(self, batch: list[CommitItem]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for item in batch:
            try:
                self._insert([item])
                outcomes.append(COMMITTED)
            except IntegrityError:
                try:
                    with self._connection().begin():
                        row = conv.stored_reply(self._connection(), msg_key=item.msg_key)
                except SQLAlchemyError:
                    row = None
                if row is None:
                    outcomes.append(FAILED)
                elif row[1] != item.reply_enc:  # another copy's row (the ciphertext is unique)
                    outcomes.append(Duplicate(row[1] or ""))
                else:  # our own row, committed by a first try whose acknowledgement was lost
                    outcomes.append(COMMITTED)
            except SQLAlchemyError:
                self._drop_connection()
                outcomes.append(FAILED)
        return outcomes


class InlineCommitter(Committer):
    """Commits in the event loop itself, once per loop iteration: no thread, no GIL hand-offs."""

    inline = True

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._queued: dict[asyncio.AbstractEventLoop, list[tuple[CommitItem, Ticket]]] = {}
        self._timers: dict[asyncio.AbstractEventLoop, tuple[asyncio.Handle, bool]] = {}

    def turn_ended(self, loop: asyncio.AbstractEventLoop) -> None:
        super().turn_ended(loop)
        self._nudge(loop)  # do not wait for a turn that will not come

    def submit(self, item: CommitItem) -> Ticket:
        loop = asyncio.get_running_loop()
        ticket = Ticket(loop.create_future())
        self._queued.setdefault(loop, []).append((item, ticket))
        self._nudge(loop)
        return ticket

    def _nudge(self, loop: asyncio.AbstractEventLoop) -> None:
        """Schedule the commit: at this loop iteration's end when the batch is full or no other turn
        is under way, otherwise at the end of the window (the turns under way join it)."""
        queued = self._queued.get(loop)
        if not queued:
            return
        scheduled = self._timers.get(loop)  # (handle, is the window timer)
        if len(queued) >= self.max_batch or self.window_s <= 0 or self.underway <= 0:
            if scheduled is None or scheduled[1]:  # nothing yet, or a window to cut short
                if scheduled is not None:
                    scheduled[0].cancel()
                self._timers[loop] = (loop.call_soon(self._flush, loop), False)
        elif scheduled is None:
            self._timers[loop] = (loop.call_later(self.window_s, self._flush, loop), True)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timers.pop(loop, None)
        if not self.db_lock.acquire(blocking=False):
            # A full-path turn holds SQLite's one write transaction: try again in a moment rather
            # than stop the loop (and every other request) until that turn ends.
            self._timers[loop] = (loop.call_later(0.002, self._flush, loop), False)
            return
        try:
            queued = self._queued.pop(loop, [])
            for start in range(0, len(queued), self.max_batch):
                part = queued[start:start + self.max_batch]
                outcomes = self._stored([item for item, _ in part])
                for (_, ticket), outcome in zip(part, outcomes, strict=True):
                    ticket.resolve(outcome)
        finally:
            self.db_lock.release()


class ThreadCommitter(Committer):
    """Commits in its own thread; the outcomes are handed to each request's loop."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._queue: queue.SimpleQueue[tuple[CommitItem, Ticket, asyncio.AbstractEventLoop] | None] = (
            queue.SimpleQueue())
        self._thread = threading.Thread(target=self._run, name="wx-commit", daemon=True)
        self._thread.start()

    def submit(self, item: CommitItem) -> Ticket:
        loop = asyncio.get_running_loop()
        ticket = Ticket(loop.create_future())
        self._queue.put((item, ticket, loop))
        return ticket

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)
        super().close()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            deadline = time.monotonic() + self.window_s
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    left = deadline - time.monotonic()
                    if left <= 0 or self.underway <= 0:
                        break
                    try:
                        nxt = self._queue.get(timeout=min(left, 0.002))
                    except queue.Empty:
                        continue
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self.db_lock.acquire()
            try:
                outcomes = self._stored([item for item, _, _ in batch])
            finally:
                self.db_lock.release()
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Ticket, Outcome]]] = {}
            for (_, ticket, loop), outcome in zip(batch, outcomes, strict=True):
                by_loop.setdefault(loop, []).append((ticket, outcome))
            for loop, resolved in by_loop.items():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (shutdown)
                    loop.call_soon_threadsafe(_resolve_all, resolved)
            if stop:
                return


def _resolve_all(resolved: list[tuple[Ticket, Outcome]]) -> None:
    for ticket, outcome in resolved:
        ticket.resolve(outcome)


def make_committer(*, engine: Engine, db_lock: WriteLock, inline: bool, window_s: float) -> Committer:
    """The committer for this database: inline for SQLite, a thread otherwise."""
    cls = InlineCommitter if inline else ThreadCommitter
    return cls(engine=engine, db_lock=db_lock, window_s=window_s)
