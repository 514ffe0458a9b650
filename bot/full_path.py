"""The full path: one message, one database transaction, in a worker thread (``docs/wechat.md``).

For turns that need the database (reports, look-ups, handoffs, consent...), and for every message
while Redis is down. The handler runs the turn in the path's session without committing
(:meth:`~bot.contract.TurnHandler.handle_in`); the path inserts the inbox row and commits, so the
message's effects and its "processed" mark commit atomically. Commit fails (database down, F-P1):
nothing is written, the claim is released, :class:`~bot.answers.DatabaseDown` (503, WeChat retries).
A concurrent copy committed first (unique violation): the turn is rolled back, the winner's answer.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from backend.conversations import service as conv
from backend.db import begin_write
from backend.runtime import Runtime
from bot import inbox_protocol as proto
from bot import messages as fallback
from bot import platform_events
from bot.answers import SUCCESS, Answer, DatabaseDown, open_answer, seal
from bot.contract import BotReply, InboundMessage, StateWrite, TurnHandler, TurnResult, reaches_handler
from bot.delivery import Delivery
from bot.group_commit import WriteLock
from bot.redis_guard import RedisGuard, RedisUnavailable
from bot.replies import plan_messages
from bot.safe_log import log_failure
from bot.settings import WechatSettings

log = logging.getLogger(__name__)


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

    def finish_or_take_over(self) -> bool:
        """The work is done; True when the request had given up and the worker must finish it."""
        with self.lock:
            self.done = True
            return self.abandoned


class CopyUnderWay:
    """Another delivery of the message holds its claim: wait for that delivery's answer."""


COPY_UNDER_WAY = CopyUnderWay()


@dataclass(kw_only=True)
class FullPathJob(Handover):
    """One message for the full path, with the claim the fast path already holds, if any."""

    message: InboundMessage
    claim: tuple[bool, str] | None = None  # (claimed, lock owner)
    resume: object = None  # from the handler's NeedsDatabase
    deadline: float = math.inf  # the end of the request's passive budget, in time.monotonic()


class FullPath:
    """Runs :class:`FullPathJob` s (in worker threads)."""

    def __init__(self, *, runtime: Runtime, settings: WechatSettings, guard: RedisGuard, db_lock: WriteLock,
                 delivery: Delivery, our_id: str, new_owner: Callable[[], str]) -> None:
        self.runtime = runtime
        self.settings = settings
        self.guard = guard
        self.db_lock = db_lock
        self.delivery = delivery
        self.our_id = our_id
        self._new_owner = new_owner

    def run(self, job: FullPathJob) -> Answer | CopyUnderWay:
        """Claim (unless the fast path did), run the turn, store it, finish; the webhook's answer."""
        message = job.message
        claimed: bool | None
        if job.claim is not None:  # claimed by the fast path, which handed the turn over
            claimed, owner = job.claim
        else:
            owner = self._new_owner()
            claimed = self._acquire(message, owner)
        if claimed is False:
            return COPY_UNDER_WAY
        session = self.runtime.sessions()
        self.db_lock.acquire()
        try:
            try:
                begin_write(session)  # SQLite: the write lock first (other processes write too)
            except SQLAlchemyError:
                if claimed:
                    self._release(message, owner, answer=proto.RELEASE)
                raise DatabaseDown("database busy") from None
            if claimed is None:  # Redis down: the database decides (F-R2)
                try:
                    done = self.stored(session, message)
                    session.rollback()
                except SQLAlchemyError:
                    raise DatabaseDown("inbox read failed") from None
                if done is not None:
                    return done
            try:
                result = self._run_turn(message, session, job.resume)
                sealed = seal(self.runtime.cipher, message, plan_messages(result.replies), our_id=self.our_id)
                platform_events.record(session, message)  # receipts, subscribe ledger: with the inbox row
                conv.insert_inbox(session, **sealed.inbox_values)
                session.commit()
            except IntegrityError:  # a concurrent copy committed first (Redis down or forgot)
                session.rollback()
                try:
                    row = conv.stored_reply(session, msg_key=message.msg_key)
                except SQLAlchemyError:
                    row = None
                if row is None:
                    if claimed:
                        self._release(message, owner, answer=proto.RELEASE)
                    raise DatabaseDown("conflict without a stored answer") from None
                if claimed:  # Redis had forgotten the message: remember the winner's answer again
                    self._release(message, owner, answer=proto.done(row[1]) if row[1] else proto.RELEASE)
                return open_answer(self.runtime.cipher, row[1])
            except SQLAlchemyError:
                session.rollback()
                log.error("could not store a WeChat message; answering 503 so WeChat retries")
                if claimed:
                    self._release(message, owner, answer=proto.RELEASE)
                raise DatabaseDown("inbox write failed") from None
        except DatabaseDown:
            raise
        except Exception:  # a bug after the claim: release it so WeChat's retry is processed
            session.rollback()
            if claimed:
                self._release(message, owner, answer=proto.RELEASE)
            raise
        finally:
            session.close()
            self.db_lock.release()
        outs = sealed.outs
        taken_over = job.finish_or_take_over()  # the request gave up: the worker delivers
        # Past the budget, a passive reply might no longer be read: the 客服 API sends it instead, and
        # so when a copy of the message answered "success" meanwhile (WeChat listens to nobody now).
        late = bool(outs) and (taken_over or time.monotonic() > job.deadline)
        copy_gave_up = False
        if claimed:
            copy_gave_up = self._release(
                message, owner, answer=proto.SENT_ELSEWHERE if late else proto.done(sealed.reply_enc),
                writes=result.state_writes, own=bool(outs))
        for callback in result.after_commit:
            try:
                callback()
            except Exception as exc:
                log_failure(log, "after-commit callback failed", exc)
        if taken_over:
            self.delivery.send(message.user_id, outs, msg_key=message.msg_key)
            return SUCCESS
        if late or copy_gave_up:
            self.delivery.later(message.user_id, outs, msg_key=message.msg_key)
            return SUCCESS
        if len(outs) > 1:
            self.delivery.later(message.user_id, outs[1:], 0.3)
        return Answer(sealed.xml, tuple(outs[1:]))

    def stored(self, session: Session, message: InboundMessage) -> Answer | None:
        """The answer of the copy that committed first, if any."""
        row = conv.stored_reply(session, msg_key=message.msg_key)
        if row is None:
            return None
        return open_answer(self.runtime.cipher, row[1])

    def _acquire(self, message: InboundMessage, owner: str) -> bool | None:
        """Claim the message (None when Redis is down) and wait a little for the user lock."""
        keys, args = proto.claim_call(message.msg_key, message.user_id, owner=owner,
                                      claim_ttl_s=int(self.settings.claim_ttl_s),
                                      lock_ms=int(self.settings.user_lock_ttl_s * 1000))
        try:
            claim = proto.Claim.read(self.guard.call(lambda r: proto.CLAIM.run(r, [(keys, args)])[0]))
        except RedisUnavailable:
            return None
        if not claim.claimed:
            return False
        held = claim.locked
        wait_until = time.monotonic() + min(3.0, self.settings.passive_reply_budget_s / 2)
        while not held and time.monotonic() < wait_until:
            time.sleep(0.01)
            try:
                held = bool(self.guard.call(lambda r: r.set(keys[1], owner, nx=True, px=args[2])))
            except RedisUnavailable:
                break
        if not held:
            log.warning("per-user lock not acquired in time; processing anyway")
        return True

    def _release(self, message: InboundMessage, owner: str, *, answer: str,
                 writes: tuple[StateWrite, ...] = (), own: bool = False) -> bool:
        """One round trip: store the answer (or drop the claim), apply state writes, unlock. True
        when a copy of the message answered "success" meanwhile (``own``: the answer is this turn's)."""
        finish = proto.Finish(message.msg_key, message.user_id, owner, answer, self.settings.dedupe_ttl_s,
                              writes, own=own)
        try:
            [late] = self.guard.call(lambda r: proto.FINISH.run(r, [finish.call()]))
        except RedisUnavailable:
            if writes:
                log.warning("dialogue state not saved after the turn committed (Redis unavailable)")
            return False
        return bool(own and late == 1)

    def _run_turn(self, message: InboundMessage, session: Session, resume: object) -> TurnResult:
        """The handler's turn in ``session`` (uncommitted); a failed turn is rolled back → BUSY."""
        if not reaches_handler(message):
            log.info("unhandled WeChat push type=%s event=%s", message.raw_type, message.event)
            return TurnResult([])
        handler: TurnHandler | None = self.runtime.turn_handler
        if handler is None:
            log.error("no turn handler registered")
            return TurnResult([BotReply(text=fallback.NO_HANDLER)])
        try:
            return handler.handle_in(message, session=session, resume=resume)
        except IntegrityError:
            session.rollback()
            if conv.stored_reply(session, msg_key=message.msg_key) is not None:
                raise  # a concurrent copy committed this message first: the caller answers its reply
            log.error("turn handler failed: integrity error (kind=%s)", message.kind)
            return TurnResult([BotReply(text=fallback.BUSY)])
        except Exception as exc:
            log_failure(log, f"turn handler failed (kind={message.kind})", exc)
            session.rollback()
            return TurnResult([BotReply(text=fallback.BUSY)])
