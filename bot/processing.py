"""Exactly-once processing of WeChat pushes: which path a message takes, and copies of a message.

A message takes the fast path (:mod:`bot.fast_path`: in the event loop, group-committed) unless its
turn needs the database or Redis is down; then the full path (:mod:`bot.full_path`: one transaction
in a worker thread). Copies of a message arriving in this process while the first is running share
its outcome; copies elsewhere wait for the stored answer. ``docs/wechat.md`` describes both paths,
their Redis protocol (:mod:`bot.inbox_protocol`) and what each failure leaves behind.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from backend.db import session_scope, sqlite_write_lock
from backend.runtime import Runtime
from bot import inbox_protocol as proto
from bot.answers import SUCCESS, Answer, DatabaseDown, open_answer
from bot.contract import InboundMessage
from bot.delivery import Delivery
from bot.fast_path import FastPath, HandOver, Owners
from bot.full_path import CopyUnderWay, FullPath, FullPathJob
from bot.group_commit import WriteLock, make_committer
from bot.loop_pipeline import LoopPipeline
from bot.redis_guard import RedisGuard, RedisUnavailable
from bot.settings import WechatSettings

__all__ = ["Answer", "DatabaseDown", "Processor"]

_UNCLAIMED = HandOver(None)  # the full path claims the message itself


class _NoLock:
    """The write lock of a database with many writers (PostgreSQL): never blocks."""

    def acquire(self, blocking: bool = True) -> bool:
        return True

    def release(self) -> None:
        return None


def _retrieve(fut: asyncio.Future[Any]) -> None:
    """Mark a shared outcome's exception as seen (its first copy re-raises it itself)."""
    if not fut.cancelled():
        fut.exception()


class Processor:
    """Runs each WeChat push through the turn handler exactly once."""

    def __init__(self, *, runtime: Runtime, settings: WechatSettings, guard: RedisGuard,
                 gateway: Any = None, max_workers: int = 2, fast_path: bool = True) -> None:
        """``gateway``: the WeChat API gateway for customer-service messages (None: not configured);
        ``max_workers``: threads of the full path (turns are CPU-bound under the GIL: a few, not many);
        ``fast_path``: False sends every message the full way."""
        self.runtime = runtime
        self.settings = settings
        self.guard = guard
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="wx-turn")
        self._inflight: dict[str, asyncio.Future[Answer]] = {}
        our_id = settings.original_id or settings.app_id or "gh_service"
        # SQLite (local mode) has one writer: a turn reads, then writes, and a write on a snapshot that
        # another connection changed meanwhile fails at once ("database is locked"). Turns of this
        # process take their transaction one at a time there, under the same lock as the worker's jobs
        # and the console's requests (backend.db.sqlite_write_lock); PostgreSQL needs no such lock.
        sqlite = runtime.engine.dialect.name == "sqlite"
        self.db_lock: WriteLock = sqlite_write_lock(runtime.engine) or _NoLock()
        self.delivery = Delivery(gateway=gateway, runtime=runtime, db_lock=self.db_lock)
        owners = Owners()
        self.pipeline = LoopPipeline(guard)
        self.committer = make_committer(
            engine=runtime.engine, db_lock=self.db_lock, inline=sqlite,
            window_s=settings.group_commit_window_ms / 1000) if fast_path else None
        self.fast = FastPath(runtime=runtime, settings=settings, guard=guard, pipeline=self.pipeline,
                             committer=self.committer, delivery=self.delivery, our_id=our_id,
                             new_owner=owners) if self.committer is not None else None
        self.full = FullPath(runtime=runtime, settings=settings, guard=guard, db_lock=self.db_lock,
                             delivery=self.delivery, our_id=our_id, new_owner=owners)

    @property
    def gateway(self) -> Any:
        """The WeChat API gateway of the customer-service messages (None: not configured)."""
        return self.delivery.gateway

    def close(self) -> None:
        """Stop the worker threads (waits for running turns)."""
        if self.committer is not None:
            self.committer.close()
        self.executor.shutdown(wait=True)
        self.delivery.close()

    async def process(self, message: InboundMessage) -> Answer:
        """The answer to this push; concurrent copies in this process share one turn."""
        key = message.msg_key
        shared = self._inflight.get(key)
        if shared is not None:
            return await asyncio.shield(shared)
        # The first copy runs the turn in its own request (no extra task: servers do not cancel a
        # request when its client goes away) and shares the outcome with the copies meanwhile.
        shared = asyncio.get_running_loop().create_future()
        shared.add_done_callback(_retrieve)
        self._inflight[key] = shared
        try:
            answer = await self._process_once(message)
        except asyncio.CancelledError:
            shared.cancel()
            raise
        except BaseException as exc:
            shared.set_exception(exc)
            raise
        else:
            shared.set_result(answer)
        finally:
            del self._inflight[key]
        return answer

    async def _process_once(self, message: InboundMessage) -> Answer:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.passive_reply_budget_s
        handed = _UNCLAIMED
        handler = self.fast.handler_for(message) if self.fast is not None else None
        if self.fast is not None and handler is not None:
            outcome = await self.fast.run(handler, message, deadline)
            if isinstance(outcome, Answer):
                return outcome
            if isinstance(outcome, HandOver):
                handed = outcome
            else:  # a copy: its first delivery is under way
                waited = await self._wait_for_answer(message, deadline)
                if waited is not None:
                    return waited
                if loop.time() >= deadline:
                    return SUCCESS
        for _attempt in range(3):
            job = FullPathJob(message=message, claim=handed.claim, resume=handed.resume,
                              deadline=time.monotonic() + deadline - loop.time())
            handed = _UNCLAIMED
            fut = loop.run_in_executor(self.executor, self.full.run, job)
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())
            try:
                result = await asyncio.wait_for(asyncio.shield(fut), max(0.05, deadline - loop.time()))
            except TimeoutError:
                if job.abandon():
                    return SUCCESS  # "success"; the job delivers through the 客服 API
                result = await fut
            if not isinstance(result, CopyUnderWay):
                return result
            waited = await self._wait_for_answer(message, deadline)
            if waited is not None:
                return waited
            if loop.time() >= deadline:
                return SUCCESS
            # The first delivery gave up (its claim was released): process this copy.
        return SUCCESS

    async def _wait_for_answer(self, message: InboundMessage, deadline: float) -> Answer | None:
        """Poll for the first delivery's answer; None if it vanished. At the deadline, ``success``, and
        the first delivery then sends its answer through the customer-service API (``_give_up``)."""
        loop = asyncio.get_running_loop()
        while True:
            state, answer = await loop.run_in_executor(self.executor, self._stored_answer, message)
            if answer is not None:
                return answer
            if state == "gone":
                return None
            if loop.time() >= deadline:
                return await loop.run_in_executor(self.executor, self._give_up, message)
            await asyncio.sleep(0.03)

    def _give_up(self, message: InboundMessage) -> Answer:
        """Stop waiting: the answer if it came meanwhile, else ``success``, leaving the late mark. WeChat
        takes this ``success`` as the message's answer and stops listening, so the first delivery must
        not rely on its passive reply any more (issue 8, item 15)."""
        keys = [proto.message_key(message.msg_key), proto.late_key(message.msg_key)]
        try:
            [value] = self.guard.call(lambda r: proto.GIVE_UP.run(r, [(keys, [self.settings.dedupe_ttl_s])]))
        except RedisUnavailable:
            return SUCCESS
        mark = proto.Mark.read(value)
        return open_answer(self.runtime.cipher, mark.token) if mark is not None else SUCCESS

    def _stored_answer(self, message: InboundMessage) -> tuple[str, Answer | None]:
        """("done", answer), ("pending", None) while the first delivery runs, ("gone", None)."""
        key = proto.message_key(message.msg_key)
        try:
            mark = proto.Mark.read(self.guard.call(lambda r: r.get(key)))
            if mark is not None and not mark.pending:
                return "done", open_answer(self.runtime.cipher, mark.token)
            if mark is not None:
                return "pending", None
        except RedisUnavailable:
            pass
        try:
            with session_scope(self.runtime.sessions) as session:
                answer = self.full.stored(session, message)
                return ("gone", None) if answer is None else ("done", answer)
        except SQLAlchemyError:
            return "pending", None
