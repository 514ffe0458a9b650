"""The fast path: a turn that needs no database runs in the event loop (``docs/wechat.md``).

No thread hand-off, no connection checkout. The claim rides in a pipeline with the other Redis calls
of the loop iteration (:mod:`bot.loop_pipeline`) and brings back the dialogue state and the "a person
owns this chat" mark; the turn runs without a session (:meth:`~bot.contract.TurnHandler.handle_offline`);
its rows go to the group committer, and after the commit its Redis finish (answer, state, unlock) goes
in the loop's next pipeline. A turn that reaches for the database raises NeedsDatabase before anything
changed and is handed to the full path with its claim.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from backend.conversations import service as conv
from backend.runtime import Runtime
from bot import inbox_protocol as proto
from bot.answers import SUCCESS, Answer, DatabaseDown, Sealed, open_answer, seal
from bot.contract import InboundMessage, NeedsDatabase, TurnHandler, TurnResult, reaches_handler
from bot.delivery import Delivery
from bot.full_path import COPY_UNDER_WAY, CopyUnderWay
from bot.group_commit import CommitItem, Committed, Committer, Duplicate, Failed, Outcome, Ticket
from bot.loop_pipeline import LoopPipeline
from bot.redis_guard import RedisGuard, RedisUnavailable
from bot.replies import plan_messages
from bot.safe_log import log_failure
from bot.settings import WechatSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HandOver:
    """The fast path handed the message to the full path, with the claim it holds, if any, and what
    the handler already worked out."""

    claim: tuple[bool, str] | None  # (claimed, lock owner)
    resume: object = None


@dataclass(slots=True)  # (not frozen: built for every message)
class _Prepared:
    """A turn run offline, waiting for its commit."""

    message: InboundMessage
    owner: str
    result: TurnResult
    sealed: Sealed
    item: CommitItem


class Owners:
    """Unique lock-owner tokens for this process."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(6)
        self._seq = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._seq):x}"


class FastPath:
    """Claims, runs and commits offline turns (see the module docstring)."""

    def __init__(self, *, runtime: Runtime, settings: WechatSettings, guard: RedisGuard,
                 pipeline: LoopPipeline, committer: Committer, delivery: Delivery, our_id: str,
                 new_owner: Owners) -> None:
        self.runtime = runtime
        self.settings = settings
        self.guard = guard
        self.pipeline = pipeline
        self.committer = committer
        self.delivery = delivery
        self.our_id = our_id
        self._new_owner = new_owner
        self._late: set[asyncio.Task[None]] = set()  # turns whose request gave up, still finishing

    def handler_for(self, message: InboundMessage) -> TurnHandler | None:
        """The handler, when this message may take the fast path."""
        if not self.guard.available or not reaches_handler(message):
            return None
        handler: TurnHandler | None = self.runtime.turn_handler
        return handler

    async def run(self, handler: TurnHandler, message: InboundMessage,
                  deadline: float) -> Answer | HandOver | CopyUnderWay:
        """The answer, :data:`COPY_UNDER_WAY`, or :class:`HandOver` when the turn must run the full way."""
        self.committer.turn_started()
        try:
            prepared = await self._prepare(handler, message)
        finally:
            self.committer.turn_ended(asyncio.get_running_loop())
        if not isinstance(prepared, _Prepared):
            return prepared
        return await self._commit(prepared, deadline)

    async def _prepare(self, handler: TurnHandler,
                       message: InboundMessage) -> _Prepared | HandOver | CopyUnderWay:
        """Claim and run the turn; the rows to commit (or why not)."""
        owner = self._new_owner()
        keys, args = proto.claim_read_call(
            message.msg_key, message.user_id, state=handler.state_key(message),
            member=proto.conversation_digest(message.channel, message.user_id), owner=owner,
            claim_ttl_s=int(self.settings.claim_ttl_s), lock_ms=int(self.settings.user_lock_ttl_s * 1000))
        try:
            claim = proto.Claim.read(await self.pipeline.run(proto.CLAIM_READ, keys, args))
        except RedisUnavailable:  # (if Redis ran the claim after all, its short TTL lets it go)
            return HandOver(None)
        if not claim.claimed:
            return COPY_UNDER_WAY
        if not claim.locked:  # the same user's previous message is still being answered (W-17)
            try:
                claim = await self._wait_user_lock(keys, args)
            except RedisUnavailable:
                return HandOver((True, owner))
        try:
            offline = handler.handle_offline(message, state_raw=claim.state_raw, agent_owns=claim.agent_owns)
            sealed = seal(self.runtime.cipher, message, plan_messages(offline.result.replies),
                          our_id=self.our_id)
            item = CommitItem(msg_key=message.msg_key, turn_row=offline.turn_row,
                              inbox_row=conv.inbox_row(**sealed.inbox_values), reply_enc=sealed.reply_enc)
        except NeedsDatabase as need:
            return HandOver((True, owner), need.resume)
        except Exception as exc:  # the full path runs it again (and answers "busy" if it fails there too)
            log_failure(log, f"offline turn failed (kind={message.kind}); running it the full way", exc)
            return HandOver((True, owner))
        return _Prepared(message, owner, offline.result, sealed, item)

    async def _wait_user_lock(self, keys: list[str], args: list[Any]) -> proto.Claim:
        """Wait (up to 3 s) for the per-user lock; then the state as it is (lock or not)."""
        loop = asyncio.get_running_loop()
        wait_until = loop.time() + min(3.0, self.settings.passive_reply_budget_s / 2)
        while True:
            await asyncio.sleep(0.01)
            claim = proto.Claim.read(await self.pipeline.run(proto.LOCK_READ, keys, args))
            if claim.locked:
                return claim
            if loop.time() >= wait_until:
                log.warning("per-user lock not acquired in time; processing anyway")
                return claim

    async def _commit(self, turn: _Prepared, deadline: float) -> Answer:
        """Wait for the commit within the passive budget; then finish and answer."""
        loop = asyncio.get_running_loop()
        ticket = self.committer.submit(turn.item)
        timer = loop.call_at(deadline, self._give_up, turn, ticket)
        try:
            outcome = await ticket.future
        finally:
            timer.cancel()
        if outcome is None:
            return SUCCESS  # "success"; the turn is finished and delivered through the 客服 API later
        # The outcome may come after the budget ran out (SQLite commits in the loop, whose timers wait
        # meanwhile): then a passive reply might no longer be read, the 客服 API sends it instead.
        late = loop.time() > deadline
        sent_elsewhere = await self._finish(turn, outcome, late=late)
        if isinstance(outcome, Failed):
            raise DatabaseDown("inbox write failed")  # the claim is released: WeChat's retry is processed
        if isinstance(outcome, Duplicate):  # a copy elsewhere committed first: its answer
            return open_answer(self.runtime.cipher, outcome.winner)
        for callback in turn.result.after_commit:
            self.delivery.pool.submit(callback)
        outs = turn.sealed.outs
        if sent_elsewhere:
            self.delivery.later(turn.message.user_id, outs, msg_key=turn.message.msg_key)
            return SUCCESS
        if len(outs) > 1:
            self.delivery.later(turn.message.user_id, outs[1:], 0.3)
        return Answer(turn.sealed.xml, tuple(outs[1:]))

    def _give_up(self, turn: _Prepared, ticket: Ticket) -> None:
        """The passive-reply budget ran out before the commit: answer ``success`` now, and let a task
        finish the turn and deliver it through the customer-service API."""
        late = ticket.stop_waiting()
        if late is not None:
            task = asyncio.get_running_loop().create_task(self._finish_late(turn, late))
            self._late.add(task)
            task.add_done_callback(self._late.discard)

    async def _finish_late(self, turn: _Prepared, late: asyncio.Future[Outcome]) -> None:
        outcome = await late
        await self._finish(turn, outcome, late=True)
        if isinstance(outcome, Committed):  # a duplicate's answer went out already
            self.delivery.later(turn.message.user_id, turn.sealed.outs, msg_key=turn.message.msg_key)

    async def _finish(self, turn: _Prepared, outcome: Outcome, *, late: bool) -> bool:
        """The Redis finish of the outcome, in the loop's next pipeline (with the new claims): answer,
        state writes and unlock once committed; the winner's answer for a duplicate; the claim
        released when the commit failed (WeChat's retry is processed).

        True when the turn's answer goes through the customer-service API: the request is ``late``
        (past its budget), or a copy of the message answered ``success`` meanwhile. Copies then get
        ``success`` too, not a second reply.
        """
        own = isinstance(outcome, Committed) and bool(turn.sealed.outs)
        if isinstance(outcome, Committed):
            answer = proto.SENT_ELSEWHERE if late and own else proto.done(turn.sealed.reply_enc)
            writes = turn.result.state_writes
        elif isinstance(outcome, Duplicate):  # remember the winner's answer, no state write
            answer, writes = (proto.done(outcome.winner) if outcome.winner else proto.RELEASE), ()
        else:
            answer, writes = proto.RELEASE, ()
        finish = proto.Finish(turn.message.msg_key, turn.message.user_id, turn.owner, answer,
                              self.settings.dedupe_ttl_s, writes, own=own)
        keys, args = finish.call()
        try:
            copy_gave_up = await self.pipeline.run(proto.FINISH, keys, args, first=True) == 1
        except RedisUnavailable:
            log.warning("dialogue state and answer not saved in Redis after the commit (Redis unavailable)")
            copy_gave_up = False
        return own and (late or copy_gave_up)
