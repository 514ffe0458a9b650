"""Group commit for the webhook's fast path: many turns, one transaction.

Turns that need no database read (FAQ answers, questions asked, numbered choices: most messages)
run in the event loop and hand their rows to this committer. It takes everything queued (up to
``max_batch``; a turn waits at most ``window_s`` for the turns still under way, and not at all when
none is), inserts all turn and inbox rows in ONE transaction (executemany per table), commits, and
wakes the waiting requests. Each request is answered only after its own commit (nothing is
acknowledged that is not in the database) and then sends its Redis finish (answer, state, unlock)
in the loop's next pipeline. Under load, batches grow and the per-turn cost shrinks.

Failures keep the per-turn semantics of the slow path:

* a duplicate in the batch (a copy committed elsewhere while Redis had forgotten the message) makes
  the batch fall back to one transaction per turn: the duplicate gets the winner's stored answer,
  the others commit;
* any other database error fails the batch: every turn's claim is released and its request answers
  503 so WeChat delivers it again (nothing half-written). A dropped connection is reopened and the
  batch retried once first (after a database restart the first batch must not fail);
* Redis failing after the commit loses only the state write (logged), never the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from backend.conversations import service as conv
from bot.redis_guard import BatchScript, RedisGuard, RedisUnavailable

log = logging.getLogger(__name__)


class CommitFailed(Exception):
    """The turn's rows could not be stored (database down): the webhook answers 503."""


@dataclass(kw_only=True)
class Handover:
    """Work a waiting request may give up on (the passive-reply budget): exactly one side finishes it,
    the request (it got the outcome in time) or the worker (the request had given up)."""

    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    done: bool = False
    abandoned: bool = False

    def abandon(self) -> bool:
        """The request stops waiting; False when the work finished first (the request finishes it)."""
        with self.lock:
            if self.done:
                return False
            self.abandoned = True
            return True

    def complete(self) -> bool:
        """The work is done; True when the request had given up (the caller finishes it)."""
        with self.lock:
            self.done = True
            return self.abandoned


@dataclass
class CommitItem(Handover):
    """One turn to store: its rows and the Redis finish (answer, state writes, unlock)."""

    msg_key: str
    turn_row: dict[str, Any] | None
    inbox_row: dict[str, Any]
    finish_keys: list[str]
    finish_args: list[str | int]  # ARGV of the finish script; ARGV[1] is the stored answer
    reply_enc: str
    context: Any = None  # the caller's, handed back to ``on_abandoned``
    # Set by the committer: None (committed), or the winner's encrypted answer ("" for none).
    duplicate_of: str | None = None
    failed: bool = False
    future: asyncio.Future[CommitItem] | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def finish_call(self) -> tuple[list[str], list[Any]]:
        """KEYS and ARGV of the Redis finish for the outcome: answer + state + unlock when committed,
        the winner's answer for a duplicate, release of the claim when it failed."""
        keys, args = self.finish_keys, self.finish_args
        if self.failed:  # release the claim: WeChat's retry is processed again
            return keys[:2], ["", *args[1:3]]
        if self.duplicate_of is not None:  # remember the winner's answer, no state write
            return keys[:2], ["D" + self.duplicate_of if self.duplicate_of else "", *args[1:3]]
        return keys, list(args)


class GroupCommitter:
    """Commits queued turns in batches (see the module docstring).

    ``inline=True`` (SQLite, an in-process database whose commit is a local file write in WAL mode)
    commits in the event loop itself, once per loop iteration, with no thread and no GIL hand-offs;
    otherwise (PostgreSQL: a commit waits on the network and the server's flush) a thread does.
    """

    def __init__(self, *, engine: Engine, guard: RedisGuard, finish: BatchScript,
                 db_lock: Any, on_abandoned: Callable[[CommitItem], None], max_batch: int = 64,
                 inline: bool = False, window_s: float = 0.0,
                 more_coming: Callable[[], bool] = lambda: False) -> None:
        self.engine = engine
        self.guard = guard
        self._finish = finish
        self._db_lock = db_lock
        self._on_abandoned = on_abandoned
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[CommitItem | None] = queue.SimpleQueue()
        self._conn: Connection | None = None
        self.inline = inline
        self._lock_held = False  # the inline flush holds ``db_lock`` already
        self.window_s = window_s
        self._more_coming = more_coming  # are other turns under way that will commit soon?
        self._inline: dict[asyncio.AbstractEventLoop, list[CommitItem]] = {}
        self._timers: dict[asyncio.AbstractEventLoop, tuple[asyncio.Handle, bool]] = {}
        self._thread: threading.Thread | None = None
        if not inline:
            self._thread = threading.Thread(target=self._run, name="wx-commit", daemon=True)
            self._thread.start()
        self.batches = 0  # counters for the benchmark and tests
        self.items = 0

    def submit(self, item: CommitItem) -> asyncio.Future[CommitItem]:
        """Queue ``item`` (from the event loop); the future resolves once it is stored or failed."""
        loop = asyncio.get_running_loop()
        item.loop = loop
        item.future = loop.create_future()
        if self.inline:
            self._inline.setdefault(loop, []).append(item)
            self.nudge(loop)
        else:
            self._queue.put(item)
        return item.future

    def close(self) -> None:
        """Finish what is queued and stop the thread."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def nudge(self, loop: asyncio.AbstractEventLoop) -> None:
        """Schedule the inline commit: in this loop iteration's end when the batch is full or no other
        turn is under way, otherwise at the end of the window (the turns under way join it)."""
        pending = self._inline.get(loop)
        if not pending:
            return
        scheduled = self._timers.get(loop)  # (handle, is the window timer)
        if len(pending) >= self.max_batch or self.window_s <= 0 or not self._more_coming():
            if scheduled is None or scheduled[1]:  # nothing yet, or a window to cut short
                if scheduled is not None:
                    scheduled[0].cancel()
                self._timers[loop] = (loop.call_soon(self._flush_inline, loop), False)
        elif scheduled is None:
            self._timers[loop] = (loop.call_later(self.window_s, self._flush_inline, loop), True)

    def _flush_inline(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timers.pop(loop, None)
        if not self._db_lock.acquire(blocking=False):
            # A full-path turn holds SQLite's one write transaction: try again in a moment rather
            # than stop the loop (and every other request) until that turn ends.
            self._timers[loop] = (loop.call_later(0.002, self._flush_inline, loop), False)
            return
        try:
            self._lock_held = True
            batch = self._inline.pop(loop, [])
            for start in range(0, len(batch), self.max_batch):
                self._process(batch[start:start + self.max_batch], inline=True)
        finally:
            self._lock_held = False
            self._db_lock.release()

    # -- the thread ----------------------------------------------------------------------------
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
                    if left <= 0 or not self._more_coming():
                        break
                    try:
                        nxt = self._queue.get(timeout=min(left, 0.002))
                    except queue.Empty:
                        continue
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._process(batch, inline=False)
            if stop:
                return

    def _process(self, batch: list[CommitItem], *, inline: bool) -> None:
        try:
            self._commit(batch)
        except Exception:  # a bug here must not kill the thread: fail the batch, keep going
            log.exception("group commit failed")
            for item in batch:
                item.failed = True
        self._wake(batch, inline=inline)
        self.batches += 1
        self.items += len(batch)

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

    def _commit(self, batch: list[CommitItem]) -> None:
        with contextlib.nullcontext() if self._lock_held else self._db_lock:
            for attempt in (1, 2):
                try:
                    self._insert(batch)
                    return
                except IntegrityError:
                    self._one_by_one(batch)
                    return
                except DBAPIError as exc:
                    self._drop_connection()
                    if exc.connection_invalidated and attempt == 1:
                        continue  # the connection was dropped (database restarted): once more
                    break
                except SQLAlchemyError:
                    self._drop_connection()
                    break
            log.error("could not store %d WeChat message(s); answering 503 so WeChat retries", len(batch))
            for item in batch:
                item.failed = True

    def _one_by_one(self, batch: list[CommitItem]) -> None:
        for item in batch:
            try:
                self._insert([item])
            except IntegrityError:
                try:
                    with self._connection().begin():
                        row = conv.stored_reply(self._connection(), msg_key=item.msg_key)
                except SQLAlchemyError:
                    row = None
                if row is None:
                    item.failed = True
                elif row[1] != item.reply_enc:  # another copy's row (the ciphertext is unique)
                    item.duplicate_of = row[1] or ""
                # else: our own row, committed by a first try whose acknowledgement was lost
            except SQLAlchemyError:
                self._drop_connection()
                item.failed = True

    def _finish_redis(self, batch: list[CommitItem]) -> None:
        """Store the answers, apply the state writes, unlock: one pipeline for the batch."""
        calls = [item.finish_call() for item in batch]
        try:
            self.guard.call(lambda client: self._finish.run(client, calls))
        except RedisUnavailable:
            log.warning("dialogue state and answers not saved in Redis after the commit (Redis unavailable)")

    def _wake(self, batch: list[CommitItem], *, inline: bool) -> None:
        """Hand each outcome to its waiting request, which then sends its own Redis finish in the
        loop's next pipeline (with the claims queued meanwhile). A request that stopped waiting (past
        the passive budget) no longer can: its finish and its messages are sent from here."""
        by_loop: dict[asyncio.AbstractEventLoop, list[CommitItem]] = {}
        late: list[CommitItem] = []
        for item in batch:
            if item.complete():  # after this the request can no longer give up
                late.append(item)
            elif item.loop is not None:
                by_loop.setdefault(item.loop, []).append(item)
        if late:
            self._finish_redis(late)
            for item in late:
                if not item.failed and item.duplicate_of is None:  # a duplicate's answer went out already
                    self._on_abandoned(item)
        for loop, items in by_loop.items():
            if inline:
                _resolve(items)
                continue
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (shutdown)
                loop.call_soon_threadsafe(_resolve, items)


def _resolve(items: list[CommitItem]) -> None:
    for item in items:
        if item.future is not None and not item.future.done():
            if item.failed:
                item.future.set_exception(CommitFailed(item.msg_key))
            else:
                item.future.set_result(item)
