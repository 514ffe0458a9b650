"""Exactly-once processing of WeChat pushes: dedupe, per-user order, the turn, the stored answer.

* Dedupe (W-09): ``SET NX EX`` on the message key in Redis (with the per-user lock, one Lua call);
  the inbox table's unique ``msg_key`` is the source of truth (and the only guard while Redis is down,
  F-R2). Copies arriving in this process while the first is running share its outcome; copies
  elsewhere poll for the stored answer.
* Order (W-17): a per-openid lock in Redis around the turn, released together with the state write.
* Fast path (most messages): the claim also returns the dialogue state and whether a person owns the
  conversation; the turn runs in the event loop with no database session (``handle_offline``); its
  turn and inbox rows are group-committed (``bot.group_commit``), and after the commit its Redis
  finish (answer, state, unlock) goes in the loop's next pipeline. The Redis calls of the loop are
  pipelined: written at once, read when the socket is readable.
* Full path (a turn that needs the database, Redis down, handlers without ``handle_offline``): one
  transaction per turn. The handler (``handle_in``) runs the turn in the processor's session without
  committing, the processor inserts the inbox row and commits: the message's effects and its
  "processed" mark commit atomically. If the commit fails (database down, F-P1) nothing is written,
  the claim is released and the webhook answers 503 so WeChat retries; if a concurrent copy committed
  first (unique violation), the turn is rolled back and the winner's stored answer is returned. It
  runs in a small thread pool (the GIL makes more threads slower).
* When a turn ends within the passive budget its first message is the passive reply, otherwise the
  webhook answers ``success`` and everything goes through the customer-service API.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import NoScriptError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from backend.conversations import service as conv
from backend.db import session_scope, utcnow
from backend.handoff.service import AGENT_OWNED_KEY, conversation_digest
from backend.runtime import Runtime
from bot import messages as copy
from bot.contract import BotReply, InboundMessage, NewsItem, StateWrite, TurnResult
from bot.dialogue.engine import NeedsDatabase
from bot.group_commit import CommitFailed, CommitItem, GroupCommitter, Handover
from bot.redis_guard import BatchScript, CircuitOpen, RedisGuard, RedisUnavailable
from bot.replies import OutMessage, plan_messages, render_passive
from bot.settings import WechatSettings

log = logging.getLogger(__name__)

HANDLED_EVENTS = frozenset({
    "subscribe", "unsubscribe", "click", "view", "scan", "location", "scancode_push",
    "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin", "location_select",
})

_CLAIM = """
local c = redis.call('set', KEYS[1], 'P', 'NX', 'EX', ARGV[1])
if not c then return {0, redis.call('get', KEYS[1]) or ''} end
local l = redis.call('set', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3])
if l then return {1, '1'} end
return {1, '0'}
"""
# The fast path's claim: the same, and when the user lock is ours, the dialogue state and whether a
# person owns the conversation, all in one round trip.
# KEYS: message key, user lock, state key, agent-owned set; ARGV: dedupe TTL, owner, lock ms, member.
_CLAIM_READ = """
local c = redis.call('set', KEYS[1], 'P', 'NX', 'EX', ARGV[1])
if not c then return {0, redis.call('get', KEYS[1]) or ''} end
local l = redis.call('set', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3])
if not l then return {1, '0'} end
return {1, '1', redis.call('get', KEYS[3]) or '', redis.call('sismember', KEYS[4], ARGV[4])}
"""
# Waiting for the user lock held by the same user's previous message (W-17). Same KEYS[2..4], ARGV[2..4].
_LOCK_READ = """
local l = redis.call('set', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3])
return {1, l and '1' or '0', redis.call('get', KEYS[3]) or '', redis.call('sismember', KEYS[4], ARGV[4])}
"""
# KEYS: message key, user lock, then state keys; ARGV: answer ('' releases the claim), its TTL, lock
# owner, then (value, TTL) per state key. The state is written before the lock is released (W-17).
_FINISH = """
if ARGV[1] == '' then redis.call('del', KEYS[1]) else redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
for i = 3, #KEYS do redis.call('set', KEYS[i], ARGV[2 * i - 2], 'EX', ARGV[2 * i - 1]) end
if redis.call('get', KEYS[2]) == ARGV[3] then redis.call('del', KEYS[2]) end
return 1
"""


class DatabaseDown(Exception):
    """The message could not be stored; the webhook answers 503 so WeChat delivers it again."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the webhook answers: the passive reply XML (plain), or None for ``success``."""

    passive_xml: str | None
    extras: tuple[OutMessage, ...] = ()


_DUPLICATE = object()


class _NoLock:
    def acquire(self, blocking: bool = True) -> bool:
        return True

    def release(self) -> None:
        return None

    def __enter__(self) -> bool:
        return True

    def __exit__(self, *exc: object) -> None:
        return None


_RedisCall = tuple[BatchScript, list[str], list[Any], "asyncio.Future[Any]"]


@dataclass(frozen=True, slots=True)
class _Slow:
    """The fast path handed the message to the full path, with the claim it already holds, if any."""

    claim: tuple[bool, str] | None  # (claimed, lock owner)


@dataclass(frozen=True, slots=True)
class _Pending:
    """What an abandoned fast-path turn still has to deliver through the customer-service API."""

    user_id: str
    outs: list[OutMessage]
    after_commit: tuple[Any, ...] = ()
    passive_xml: str | None = None


@dataclass
class _Job(Handover):
    message: InboundMessage
    claim: tuple[bool, str] | None = None


def _dump_messages(messages: list[OutMessage]) -> list[dict[str, object]]:
    return [{"text": m.text, "news": [[n.title, n.description, n.url, n.image_url] for n in m.news]}
            for m in messages]


def _load_messages(raw: Any) -> list[OutMessage]:
    out = []
    for item in raw or []:
        news = tuple(NewsItem(*n) for n in item.get("news", []))
        out.append(OutMessage(text=item.get("text", ""), news=news))
    return out


def _retrieve(fut: asyncio.Future[Any]) -> None:
    """Mark a shared outcome's exception as seen (its first copy re-raises it itself)."""
    if not fut.cancelled():
        fut.exception()


class Processor:
    """Runs each WeChat push through the turn handler exactly once."""

    def __init__(self, *, runtime: Runtime, settings: WechatSettings, guard: RedisGuard,
                 gateway: Any = None, max_workers: int = 2, fast_path: bool = True) -> None:
        self.runtime = runtime
        self.settings = settings
        self.guard = guard
        self.gateway = gateway
        # Turns are CPU-bound under the GIL: a few threads, not many (more threads only add switching).
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="wx-turn")
        # Customer-service sends wait on the network: their own pool, so they never hold up turns.
        self.io = ThreadPoolExecutor(max_workers=2, thread_name_prefix="wx-send")
        self._inflight: dict[str, asyncio.Future[Answer]] = {}
        self.our_id = settings.original_id or settings.app_id or "gh_service"
        # SQLite (local mode) has one writer: a turn reads, then writes, and a write on a snapshot that
        # another connection changed meanwhile fails at once ("database is locked"). Turns of this
        # process take their transaction one at a time there (they share the GIL anyway);
        # PostgreSQL needs no such lock.
        sqlite = runtime.engine.dialect.name == "sqlite"
        self._db_lock: threading.Lock | _NoLock = threading.Lock() if sqlite else _NoLock()
        # The Lua scripts: the full path's claim, the fast path's claim and lock wait, the finish.
        self._claim_script = BatchScript(_CLAIM)
        self._claim_read = BatchScript(_CLAIM_READ)
        self._lock_read = BatchScript(_LOCK_READ)
        self._finish_script = BatchScript(_FINISH)
        # The fast path: Redis calls pipelined per loop, group commit.
        self._pending_redis: dict[asyncio.AbstractEventLoop, list[_RedisCall]] = {}
        self._redis_busy: set[asyncio.AbstractEventLoop] = set()
        self._owner_prefix = secrets.token_hex(6)
        self._owner_seq = itertools.count()
        self._underway = 0  # fast-path turns between their claim and their commit
        self.redis_pipelines = self.redis_calls = 0  # counters for the benchmark and tests
        self.redis_wait_s = 0.0  # time the loop spent reading their answers
        self.committer = GroupCommitter(
            engine=runtime.engine, guard=guard, finish=self._finish_script, db_lock=self._db_lock,
            on_abandoned=self._deliver_abandoned, inline=sqlite,
            window_s=settings.group_commit_window_ms / 1000, more_coming=lambda: self._underway > 0,
        ) if fast_path else None

    def close(self) -> None:
        """Stop the worker threads (waits for running turns)."""
        if self.committer is not None:
            self.committer.close()
        self.executor.shutdown(wait=True)
        self.io.shutdown(wait=True)

    # -- async entry point ----------------------------------------------------------------------
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
        claim: tuple[bool, str] | None = None
        handler = self._offline_handler(message)
        if handler is not None:
            outcome = await self._fast(handler, message, deadline)
            if isinstance(outcome, Answer):
                return outcome
            if isinstance(outcome, _Slow):
                claim = outcome.claim
            else:  # a copy: its first delivery is under way
                waited = await self._wait_for_answer(message, deadline)
                if waited is not None:
                    return waited
                if loop.time() >= deadline:
                    return Answer(None)
        for _attempt in range(3):
            job = _Job(message, claim)
            claim = None
            fut = loop.run_in_executor(self.executor, self._run_job, job)
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())
            try:
                result = await asyncio.wait_for(asyncio.shield(fut), max(0.05, deadline - loop.time()))
            except TimeoutError:
                if job.abandon():
                    return Answer(None)  # "success"; the job delivers through the 客服 API
                result = await fut
            if result is not _DUPLICATE:
                assert isinstance(result, Answer)
                return result
            waited = await self._wait_for_answer(message, deadline)
            if waited is not None:
                return waited
            if loop.time() >= deadline:
                return Answer(None)
            # The first delivery gave up (its claim was released): process this copy.
        return Answer(None)

    async def _wait_for_answer(self, message: InboundMessage, deadline: float) -> Answer | None:
        """Poll for the first delivery's answer; Answer(None) at the deadline, None if it vanished."""
        loop = asyncio.get_running_loop()
        while True:
            state, answer = await loop.run_in_executor(self.executor, self._stored_answer, message)
            if answer is not None:
                return answer
            if state == "gone":
                return None
            if loop.time() >= deadline:
                return Answer(None)
            await asyncio.sleep(0.03)

    def _stored_answer(self, message: InboundMessage) -> tuple[str, Answer | None]:
        key = "wx:msg:" + message.msg_key
        try:
            value = self.guard.call(lambda r: r.get(key))
            if isinstance(value, bytes) and value[:1] == b"D":
                return "done", self._decode(value[1:].decode())
            if value:
                return "pending", None
        except RedisUnavailable:
            pass
        try:
            with session_scope(self.runtime.sessions) as session:
                answer = self._stored(session, message)
                return ("gone", None) if answer is None else ("done", answer)
        except SQLAlchemyError:
            return "pending", None

    def _decode(self, token: str) -> Answer:
        stored = json.loads(self.runtime.cipher.decrypt(token, purpose=conv.REPLY_PURPOSE))
        return Answer(stored.get("xml"))

    # -- the fast path (event loop + group commit) ---------------------------------------------------
    # A turn that needs no database read runs in the event loop: no thread hand-off, no connection
    # checkout. Its claim rides in a pipeline with the other claims of the same loop iteration and
    # brings back the dialogue state and the "a person owns this chat" mark; its rows and its Redis
    # finish go to the group committer. A turn that reaches for the database (reports, look-ups,
    # consent...) raises NeedsDatabase before anything changed and runs the full way with its claim.
    def _offline_handler(self, message: InboundMessage) -> Any:
        if self.committer is None or not self.guard.available:
            return None
        if message.kind == "unknown" or (message.kind == "event" and (
                message.event not in HANDLED_EVENTS or message.event == "templatesendjobfinish")):
            return None
        handler = self.runtime.turn_handler
        return handler if hasattr(handler, "handle_offline") else None

    def _new_owner(self) -> str:
        return f"{self._owner_prefix}{next(self._owner_seq):x}"

    async def _batched(self, script: BatchScript, keys: list[str], args: list[Any]) -> Any:
        """``script`` for these keys, in one pipeline with the other calls queued meanwhile."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        pending = self._pending_redis.setdefault(loop, [])
        pending.append((script, keys, args, fut))
        if len(pending) == 1 and loop not in self._redis_busy:
            loop.call_soon(self._flush_redis, loop)
        return await fut

    def _flush_redis(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send the queued Redis calls as one pipeline: finishes first, then claims (so a claim sees
        the lock and the state its user's previous turn just left).

        The blocking client's connection, driven by the loop: the pipeline is written at once, the
        loop goes on with other turns while Redis works, and the answers are read when the socket is
        readable. One pipeline in flight per loop; calls queued meanwhile go in the next. (A pipelined
        call costs 12-23 µs of CPU this way, a single redis.asyncio call 80-100 µs, measured.) No
        answer within the socket timeout: the guard's circuit opens and the fast path steps aside.
        """
        if loop in self._redis_busy:
            return  # sent when the pipeline in flight completes
        batch = self._pending_redis.pop(loop, [])
        if not batch:
            return
        self.redis_pipelines += 1
        self.redis_calls += len(batch)
        batch.sort(key=lambda call: call[0] is not self._finish_script)  # stable: finishes first
        pool = self.guard.client.connection_pool
        conn: Any = None
        try:
            if not self.guard.available:
                raise CircuitOpen("circuit open")
            conn = pool.get_connection()
            conn.send_packed_command(conn.pack_commands(
                [("EVALSHA", script.sha, len(keys), *keys, *args) for script, keys, args, _ in batch]))
            sock = conn._sock  # the blocking connection's socket, watched by the loop
            if sock is None:
                raise redis.ConnectionError("not connected")
        except Exception as exc:
            self._redis_failed(conn, batch, exc)
            return
        self._redis_busy.add(loop)
        timeout = float(pool.connection_kwargs.get("socket_timeout") or 1.0)
        timer = loop.call_later(timeout, self._redis_answered, loop, conn, sock, batch, None)
        loop.add_reader(sock, self._redis_answered, loop, conn, sock, batch, timer)

    def _redis_answered(self, loop: asyncio.AbstractEventLoop, conn: Any, sock: Any, batch: list[_RedisCall],
                        timer: asyncio.TimerHandle | None) -> None:
        """The pipeline's answers are readable (``timer`` set), or it timed out (``timer`` None)."""
        loop.remove_reader(sock)
        self._redis_busy.discard(loop)
        if timer is None:
            self._redis_failed(conn, batch, redis.TimeoutError("no answer in time"))
        else:
            timer.cancel()
            started = time.perf_counter()
            results: list[Any] = []
            try:
                for _ in batch:
                    try:
                        results.append(conn.read_response())
                    except redis.ResponseError as exc:  # an error reply, e.g. NOSCRIPT after a restart
                        results.append(exc)
            except Exception as exc:
                self._redis_failed(conn, batch, exc)
                results = []
            else:
                self.guard.client.connection_pool.release(conn)
            finally:
                self.redis_wait_s += time.perf_counter() - started
            if results:
                self._resolve_redis(batch, results)
        self._flush_redis(loop)  # what was queued meanwhile

    def _resolve_redis(self, batch: list[_RedisCall], results: list[Any]) -> None:
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if missing:  # scripts flushed (Redis restarted): load them and run those calls again
            try:
                again = self.guard.call(functools.partial(
                    BatchScript.run_many, calls=[batch[i][:3] for i in missing]))
            except Exception as exc:
                again = [exc] * len(missing)
            for i, r in zip(missing, again, strict=True):
                results[i] = r
        for (*_, fut), result in zip(batch, results, strict=True):
            if fut.done():
                continue
            if isinstance(result, Exception):  # a script error (a bug) or Redis failing: full path
                fut.set_exception(RedisUnavailable(type(result).__name__))
            else:
                fut.set_result(result)

    def _redis_failed(self, conn: Any, batch: list[_RedisCall], exc: BaseException) -> None:
        if conn is not None:
            conn.disconnect()
            self.guard.client.connection_pool.release(conn)
        if not isinstance(exc, RedisUnavailable):
            self.guard.trip(exc)
        for *_, fut in batch:
            if not fut.done():
                fut.set_exception(RedisUnavailable(type(exc).__name__))

    async def _fast(self, handler: Any, message: InboundMessage, deadline: float) -> Answer | _Slow | object:
        """The answer, ``_DUPLICATE``, or ``_Slow`` when the turn must run the full way."""
        self._underway += 1
        try:
            item = await self._answer_offline(handler, message)
        finally:
            self._underway -= 1
        if not isinstance(item, CommitItem):
            if self.committer is not None and self.committer.inline:
                self.committer.nudge(asyncio.get_running_loop())  # do not wait for this one
            return item
        return await self._commit_offline(item, deadline)

    async def _answer_offline(self, handler: Any, message: InboundMessage) -> CommitItem | _Slow | object:
        """Claim and run the turn; the rows and the Redis finish to commit (or why not)."""
        owner = self._new_owner()
        keys = ["wx:msg:" + message.msg_key, "wx:user:" + message.user_id, handler.state_key(message),
                AGENT_OWNED_KEY]
        lock_ms = int(self.settings.user_lock_ttl_s * 1000)
        args: list[Any] = [int(self.settings.claim_ttl_s), owner, lock_ms,
                           conversation_digest(message.channel, message.user_id)]
        try:
            claimed = await self._batched(self._claim_read, keys, args)
        except RedisUnavailable:  # (if Redis ran the claim after all, its short TTL lets it go)
            return _Slow(None)
        if not int(claimed[0]):
            return _DUPLICATE
        if claimed[1] != b"1":  # the same user's previous message is still being answered (W-17)
            try:
                claimed = await self._wait_user_lock(keys, args)
            except RedisUnavailable:
                return _Slow((True, owner))
        try:
            return self._offline_item(handler, message, claimed, keys, owner)
        except NeedsDatabase:
            return _Slow((True, owner))
        except Exception:  # the full path runs it again (and answers "busy" if it fails there too)
            log.exception("offline turn failed (kind=%s); running it the full way", message.kind)
            return _Slow((True, owner))

    def _offline_item(self, handler: Any, message: InboundMessage, claimed: Any, keys: list[str],
                      owner: str) -> CommitItem:
        """Run the turn offline (NeedsDatabase when it cannot) and build what to commit."""
        offline = handler.handle_offline(message, state_raw=claimed[2], agent_owns=bool(int(claimed[3])))
        result: TurnResult = offline.result
        outs = plan_messages(result.replies)
        xml = render_passive(outs[0], to_user=message.user_id, from_user=self.our_id) if outs else None
        cipher = self.runtime.cipher
        reply_enc = cipher.encrypt(json.dumps({"xml": xml, "messages": _dump_messages(outs)},
                                              ensure_ascii=False), purpose=conv.REPLY_PURPOSE)
        content_enc = cipher.encrypt(message.text, purpose=conv.INBOUND_PURPOSE) if message.text else None
        return CommitItem(
            msg_key=message.msg_key, turn_row=offline.turn_row,
            inbox_row=conv.inbox_row(
                msg_key=message.msg_key, openid=message.user_id, msg_type=message.raw_type,
                event=message.event, delivery="passive" if xml else "none", reply_enc=reply_enc,
                content_enc=content_enc),
            finish_keys=keys[:2] + [w.key for w in result.state_writes],
            finish_args=["D" + reply_enc, self.settings.dedupe_ttl_s, owner,
                         *(v for w in result.state_writes for v in (w.value, w.ttl_s))],
            reply_enc=reply_enc, context=_Pending(message.user_id, outs, result.after_commit, xml),
        )

    async def _commit_offline(self, item: CommitItem, deadline: float) -> Answer:
        assert self.committer is not None
        fut = self.committer.submit(item)
        timer = asyncio.get_running_loop().call_at(deadline, self._give_up, item)
        try:
            await fut
        except CommitFailed:
            await self._finish_inline(item)  # releases the claim so WeChat's retry is processed
            raise DatabaseDown("inbox write failed") from None
        finally:
            timer.cancel()
        if item.abandoned:
            return Answer(None)  # "success"; the committer finishes and hands the messages to the 客服 API
        await self._finish_inline(item)
        if item.duplicate_of is not None:  # a copy elsewhere committed first: its answer
            return self._decode(item.duplicate_of) if item.duplicate_of else Answer(None)
        pending: _Pending = item.context
        for callback in pending.after_commit:
            self.io.submit(callback)
        if len(pending.outs) > 1:
            self.io.submit(self._deliver, pending.user_id, pending.outs[1:], 0.3)
        return Answer(pending.passive_xml, tuple(pending.outs[1:]))

    async def _finish_inline(self, item: CommitItem) -> None:
        """After the commit, the Redis finish rides in the loop's next pipeline (with new claims)."""
        keys, args = item.finish_call()
        try:
            await self._batched(self._finish_script, keys, args)
        except RedisUnavailable:
            log.warning("dialogue state and answer not saved in Redis after the commit (Redis unavailable)")

    async def _wait_user_lock(self, keys: list[str], args: list[Any]) -> Any:
        """Wait (up to 3 s) for the per-user lock; then the state as it is (lock or not)."""
        loop = asyncio.get_running_loop()
        wait_until = loop.time() + min(3.0, self.settings.passive_reply_budget_s / 2)
        while True:
            await asyncio.sleep(0.01)
            got = await self._batched(self._lock_read, keys, args)
            if got[1] == b"1":
                return got
            if loop.time() >= wait_until:
                log.warning("per-user lock not acquired in time; processing anyway")
                return got

    @staticmethod
    def _give_up(item: CommitItem) -> None:
        """The passive-reply budget ran out before the commit: answer ``success`` now."""
        if item.abandon() and item.future is not None and not item.future.done():
            item.future.set_result(item)

    def _deliver_abandoned(self, item: CommitItem) -> None:
        pending = item.context
        if isinstance(pending, _Pending):
            self.io.submit(self._deliver, pending.user_id, pending.outs)

    # -- the job (worker thread) ---------------------------------------------------------------------
    def _acquire(self, message: InboundMessage, owner: str) -> tuple[bool | None, bool]:
        """(claimed: True/False/None when Redis is down, user lock held)."""
        keys = ["wx:msg:" + message.msg_key, "wx:user:" + message.user_id]
        lock_ms = int(self.settings.user_lock_ttl_s * 1000)
        try:
            claimed, locked = self.guard.call(lambda r: self._claim_script.run(
                r, [(keys, [int(self.settings.claim_ttl_s), owner, lock_ms])])[0])
        except RedisUnavailable:
            return None, False
        if not int(claimed):
            return False, False
        held = locked == b"1"
        wait_until = time.monotonic() + min(3.0, self.settings.passive_reply_budget_s / 2)
        while not held and time.monotonic() < wait_until:
            time.sleep(0.01)
            try:
                held = bool(self.guard.call(lambda r: r.set(keys[1], owner, nx=True, px=lock_ms)))
            except RedisUnavailable:
                break
        if not held:
            log.warning("per-user lock not acquired in time; processing anyway")
        return True, held

    def _release(self, message: InboundMessage, owner: str, *, value: str,
                 writes: tuple[StateWrite, ...] = ()) -> bool:
        """One round trip: store the answer (or drop the claim), apply state writes, unlock."""
        keys = ["wx:msg:" + message.msg_key, "wx:user:" + message.user_id]
        args: list[str | int] = [value, self.settings.dedupe_ttl_s, owner]
        for w in writes:
            keys.append(w.key)
            args += [w.value, w.ttl_s]
        try:
            self.guard.call(lambda r: self._finish_script.run(r, [(keys, args)]))
        except RedisUnavailable:
            if writes:
                log.warning("dialogue state not saved after the turn committed (Redis unavailable)")
            return False
        return True

    def _stored(self, session: Session, message: InboundMessage) -> Answer | None:
        """The answer of the copy that committed first, if any."""
        row = conv.stored_reply(session, msg_key=message.msg_key)
        if row is None:
            return None
        return self._decode(row[1]) if row[1] else Answer(None)

    def _run_job(self, job: _Job) -> object:
        message = job.message
        claimed: bool | None
        if job.claim is not None:  # claimed by the fast path, which handed the turn over
            claimed, owner = job.claim
        else:
            owner = self._new_owner()
            claimed, _held = self._acquire(message, owner)
        if claimed is False:
            return _DUPLICATE
        cipher = self.runtime.cipher
        session = self.runtime.sessions()
        self._db_lock.acquire()
        try:
            if claimed is None:  # Redis down: the database decides (F-R2)
                try:
                    done = self._stored(session, message)
                    session.rollback()
                except SQLAlchemyError:
                    raise DatabaseDown("inbox read failed") from None
                if done is not None:
                    return done
            try:
                result = self._run_turn(message, session)
                outs = plan_messages(result.replies)
                first = outs[0] if outs else None
                xml = render_passive(first, to_user=message.user_id, from_user=self.our_id) if first else None
                # Encrypted once: the same token goes to the inbox row and to Redis.
                reply_enc = cipher.encrypt(json.dumps({"xml": xml, "messages": _dump_messages(outs)},
                                                      ensure_ascii=False), purpose=conv.REPLY_PURPOSE)
                if message.event == "templatesendjobfinish" and message.text:
                    conv.record_template_receipt(
                        session, template_msgid=message.text, openid=message.user_id,
                        status=message.event_key or "", received_at=message.created_at or utcnow())
                conv.insert_inbox(
                    session, msg_key=message.msg_key, openid=message.user_id, msg_type=message.raw_type,
                    event=message.event, delivery="passive" if xml else "none", reply_enc=reply_enc,
                    content_enc=cipher.encrypt(message.text, purpose=conv.INBOUND_PURPOSE)
                    if message.text else None)
                session.commit()
            except IntegrityError:  # a concurrent copy committed first (Redis down or forgot)
                session.rollback()
                try:
                    row = conv.stored_reply(session, msg_key=message.msg_key)
                except SQLAlchemyError:
                    row = None
                if row is None:
                    if claimed:
                        self._release(message, owner, value="")
                    raise DatabaseDown("conflict without a stored answer") from None
                if claimed:  # Redis had forgotten the message: remember the winner's answer again
                    self._release(message, owner, value="D" + row[1] if row[1] else "")
                return self._decode(row[1]) if row[1] else Answer(None)
            except SQLAlchemyError:
                session.rollback()
                log.error("could not store a WeChat message; answering 503 so WeChat retries")
                if claimed:
                    self._release(message, owner, value="")
                raise DatabaseDown("inbox write failed") from None
        except DatabaseDown:
            raise
        except Exception:  # a bug after the claim: release it so WeChat's retry is processed
            session.rollback()
            if claimed:
                self._release(message, owner, value="")
            raise
        finally:
            session.close()
            self._db_lock.release()
        if claimed:
            self._release(message, owner, value="D" + reply_enc, writes=result.state_writes)
        for callback in result.after_commit:
            try:
                callback()
            except Exception:
                log.exception("after-commit callback failed")
        if job.complete():  # the request gave up: deliver through the customer-service API
            self._deliver(message.user_id, outs)
        elif len(outs) > 1:
            self.io.submit(self._deliver, message.user_id, outs[1:], 0.3)
        return Answer(xml, tuple(outs[1:]))

    def _run_turn(self, message: InboundMessage, session: Session) -> TurnResult:
        """The handler's turn in ``session`` (uncommitted); a failed turn is rolled back → BUSY."""
        if message.kind == "unknown" or (message.kind == "event" and message.event not in HANDLED_EVENTS):
            log.info("unhandled WeChat push type=%s event=%s", message.raw_type, message.event)
            return TurnResult([])
        handler: Any = self.runtime.turn_handler
        if handler is None:
            log.error("no turn handler registered")
            return TurnResult([BotReply(text=copy.NO_HANDLER)])
        try:
            if hasattr(handler, "handle_in"):
                result: TurnResult = handler.handle_in(message, session=session)
                return result
            return TurnResult(list(handler.handle(message)))  # owns its own transaction
        except IntegrityError:
            session.rollback()
            if conv.stored_reply(session, msg_key=message.msg_key) is not None:
                raise  # a concurrent copy committed this message first: the caller answers its reply
            log.error("turn handler failed: integrity error (kind=%s)", message.kind)
            return TurnResult([BotReply(text=copy.BUSY)])
        except Exception:
            log.exception("turn handler failed (kind=%s)", message.kind)
            session.rollback()
            return TurnResult([BotReply(text=copy.BUSY)])

    def _deliver(self, openid: str, outs: list[OutMessage], delay: float = 0.0) -> None:
        """Send messages through the customer-service API (after the passive reply, or instead)."""
        if delay:
            time.sleep(delay)
        if self.gateway is None:
            log.error("no WeChat gateway configured: %d message(s) not delivered", len(outs))
            return
        from backend.gateways.wechat import WechatApiError, WechatUnreachable

        for out in outs:
            try:
                if out.news:
                    self.gateway.send_news(openid, [
                        {"title": n.title, "description": n.description, "url": n.url, "image": n.image_url}
                        for n in out.news])
                else:
                    self.gateway.send_text(openid, out.text)
            except WechatUnreachable as exc:
                self._record_unreachable(openid, exc.errcode or 0)
                return
            except WechatApiError as exc:
                log.error("customer-service message not sent (errcode %s)", exc.errcode)
                return

    def _record_unreachable(self, openid: str, errcode: int) -> None:
        try:
            with session_scope(self.runtime.sessions) as session:
                conv.record_unreachable(session, openid=openid, errcode=errcode)
        except SQLAlchemyError:
            log.error("could not record an unreachable user")
