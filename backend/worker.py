"""The job worker: a poller and a taskiq receiver in one event loop, in the API process locally
(``make run``) or as ``python -m backend worker`` processes (as many as wanted, on any machines).

* The poller claims due rows of the job table (``backend.jobs.runner.claim_due``) and sends one queue
  message per row (per batch for a batch kind) over the Redis stream; when Redis refuses, the rows are
  given back at once. It stops claiming while ``max_in_flight`` rows are under way.
* The receiver takes messages from the stream and runs each in a thread (``Executor.execute``).
  When Redis goes away it starts again with a new broker (the consumer group is declared again).
* Periodic jobs are rows too, armed at start-up; they move themselves on after each run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aredis
from taskiq.api import run_receiver_task

from backend.db import session_scope
from backend.hooks import JobContext
from backend.jobs import queue
from backend.jobs.group import GroupCommitter
from backend.jobs.registry import PERIODIC_PREFIX, Registry, discover
from backend.jobs.runner import Claimed, Executor, claim_due, in_flight, release
from backend.jobs.service import WAKE_KEY, schedule
from backend.redis_conn import client_kwargs
from backend.runtime import Runtime

log = logging.getLogger(__name__)

__all__ = ["QueueWorker", "WorkerThread", "job_context"]


def job_context(runtime: Runtime) -> JobContext:
    """What handlers may use, from the runtime (outside services built from the settings)."""
    from backend.jobs.services import build_services

    return JobContext(sessions=runtime.sessions, redis=runtime.redis, cipher=runtime.cipher,
                      catalog=runtime.catalog, calendar=runtime.calendar, settings=runtime.settings,
                      services=build_services(runtime), clock=runtime.clock,
                      audit_anchor_dir=runtime.settings.audit_anchor_dir)


def arm_periodic(runtime: Runtime, registry: Registry) -> None:
    """Make sure every periodic job has its row (an existing row keeps its time)."""
    now = runtime.clock()
    with session_scope(runtime.sessions) as session:
        for job in registry.periodic:
            schedule(session, kind=PERIODIC_PREFIX + job.name, key=job.name, due_at=now, replace=False,
                     now=now)


class QueueWorker:
    """One worker: ``await run(stop)`` until ``stop`` is set."""

    def __init__(self, runtime: Runtime, *, registry: Registry | None = None, poll: bool = True,
                 consume: bool = True, context: JobContext | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings.jobs
        self.registry = registry or discover()
        self.ctx = context or job_context(runtime)
        self.group = GroupCommitter(self.ctx)
        self.executor = Executor(self.ctx, self.registry, group=self.group,
                                 fast_threads=self.settings.threads)
        self.fast_kinds = frozenset(k.name for k in self.registry.kinds.values() if k.fast is not None)
        self.poll = poll
        self.consume = consume
        self.batch_sizes = {k.name: k.batch_size for k in self.registry.kinds.values()}
        self.kicked = 0
        self._broker: Any = None
        self._task: Any = None

    # -- the task ----------------------------------------------------------------------------------
    def run_message(self, kind: str, pairs: list[list[Any]]) -> int:
        """The queue task: run these claimed rows (in a taskiq thread)."""
        return self.executor.execute([Claimed(int(p[0]), kind, int(p[1]), p[3] if len(p) > 3 else None,
                                              p[2] if len(p) > 2 else None) for p in pairs])

    def _new_broker(self) -> Any:
        broker = queue.make_broker(self.runtime.redis_handle.url, self.settings)

        def run_job(kind: str, pairs: list[list[Any]]) -> int:
            return self.run_message(kind, pairs)

        return broker, queue.register_task(broker, run_job)

    # -- the poller --------------------------------------------------------------------------------
    def claim(self) -> list[Claimed]:
        """One claim of due rows, within the in-flight limit."""
        now = self.ctx.now()
        with session_scope(self.runtime.sessions, write=True) as session:
            room = self.settings.max_in_flight - in_flight(session, now=now)
            if room <= 0:
                return []
            return claim_due(session, now=now, limit=min(room, self.settings.claim_batch),
                             lease_s=self.settings.queue_lease_s, with_payload=sorted(self.fast_kinds))

    def give_back(self, claimed: Sequence[Claimed]) -> None:
        with session_scope(self.runtime.sessions, write=True) as session:
            release(session, claimed, now=self.ctx.now())

    async def kick(self, broker: Any, claimed: Sequence[Claimed]) -> None:
        """Send the queue messages of claimed rows; when Redis refuses, the rows are given back."""
        try:
            await queue.kick_many(broker, queue.messages(claimed, self.batch_sizes, self.fast_kinds,
                                                         self.settings.fast_batch))
        except Exception:
            log.warning("queue unavailable: %d jobs given back", len(claimed))
            await asyncio.to_thread(self.give_back, claimed)
            raise
        self.kicked += len(claimed)

    async def poll_loop(self, stop: asyncio.Event) -> None:
        broker, _task = self._new_broker()
        waker = aredis.Redis.from_url(self.runtime.redis_handle.url, **client_kwargs(
            socket_timeout=self.settings.poll_interval_s + 5, connect_timeout=2))
        try:
            while not stop.is_set():
                full = False
                try:
                    claimed = await asyncio.to_thread(self.claim)
                    if claimed:
                        await self.kick(broker, claimed)
                    full = len(claimed) >= self.settings.claim_batch
                except Exception as exc:
                    log.warning("job poller: %s", type(exc).__name__)
                    full = False
                if not full:
                    await self._sleep(stop, waker)
        finally:
            with contextlib.suppress(Exception):
                await broker.shutdown()
            with contextlib.suppress(Exception):
                await waker.aclose()

    async def _sleep(self, stop: asyncio.Event, waker: aredis.Redis) -> None:
        """Until the poll interval has passed, a job due now was announced (``jobs.wake``: a message for
        a customer need not wait up to a whole interval), or the worker stops."""
        interval = self.settings.poll_interval_s
        woken = asyncio.ensure_future(waker.blpop([WAKE_KEY], timeout=interval))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await asyncio.wait({woken, stopping}, timeout=interval + 1,
                                         return_when=asyncio.FIRST_COMPLETED)
            if woken in done and woken.exception() is not None:  # Redis down: sleep as before
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)
        finally:
            for fut in (woken, stopping):
                if not fut.done():
                    fut.cancel()
                    with contextlib.suppress(BaseException):
                        await fut

    # -- the receiver ------------------------------------------------------------------------------
    async def consume_loop(self, stop: asyncio.Event) -> None:
        delay = 0.5
        while not stop.is_set():
            broker, _task = self._new_broker()
            receiver = None
            try:
                await broker.startup()
                receiver = asyncio.create_task(run_receiver_task(
                    broker, sync_workers=self.settings.threads, max_async_tasks=self.settings.threads,
                    max_prefetch=self.settings.threads, propagate_exceptions=False))
                stopper = asyncio.create_task(stop.wait())
                done, _ = await asyncio.wait({receiver, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if receiver in done:
                    receiver.result()
                delay = 0.5
            except Exception as exc:
                log.warning("job receiver stopped (%s); starting again", type(exc).__name__)
            finally:
                if receiver is not None and not receiver.done():
                    receiver.cancel()
                    with contextlib.suppress(BaseException):
                        await receiver
                with contextlib.suppress(Exception):
                    await broker.shutdown()
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 5.0)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll and/or consume until ``stop`` is set."""
        await asyncio.to_thread(arm_periodic, self.runtime, self.registry)
        loops = []
        if self.poll:
            loops.append(self.poll_loop(stop))
        if self.consume:
            loops.append(self.consume_loop(stop))
        await asyncio.gather(*loops)


class WorkerThread(threading.Thread):
    """A :class:`QueueWorker` on its own event loop in a thread (the API process, tests)."""

    def __init__(self, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(name="job-worker", daemon=True)
        self.worker = QueueWorker(runtime, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()

    @property
    def jobs(self) -> list[str]:
        return sorted(self.worker.registry.kinds)

    def run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop_event = asyncio.Event()
            self._ready.set()
            await self.worker.run(self._stop_event)

        try:
            asyncio.run(main())
        finally:
            self._ready.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._ready.wait(5)
        if self._loop is not None and self._stop_event is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop_event.set)
        self.join(timeout=timeout)
