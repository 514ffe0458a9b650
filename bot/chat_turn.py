"""One customer message of a chat channel (the web chat page; the mini-program chat later) through the
dialogue engine, exactly once.

The composition root hands :func:`run_chat_turn` (bound to the runtime) to ``backend.webchat``, which
may not import ``bot``. It is the full path of the webhook without WeChat: the engine runs the turn in
one transaction (:meth:`~bot.contract.TurnHandler.handle_in`), the inbox row (the message's
``msg_key``, its text and the stored answer, encrypted) commits with it, and only then are the
dialogue state written to Redis and the after-commit callbacks run. A message whose ``msg_key`` is
already in the inbox (a retried send) is not run again: the caller reads the stored answer.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.conversations import service as conv
from backend.db import session_scope
from backend.runtime import Runtime
from bot import messages as fallback
from bot.answers import seal
from bot.contract import BotReply, InboundMessage, TurnHandler, TurnResult
from bot.inbox_protocol import RELEASE_IF_OWNER, chat_lock_key
from bot.replies import plan_messages
from bot.safe_log import log_failure

log = logging.getLogger(__name__)

LOCK_TTL_MS = 15_000  # one customer's messages run one at a time (their dialogue state)
LOCK_WAIT_S = 5.0


def run_chat_turn(runtime: Runtime, *, channel: str, user_id: str, text: str, msg_key: str,
                  at: datetime | None = None) -> bool:
    """Run a customer's text through the engine and store its answer in the inbox; False when the
    message was already answered (its inbox row exists: nothing runs again)."""
    message = InboundMessage(channel=channel, user_id=user_id, kind="text", text=text, msg_key=msg_key,
                             created_at=at or runtime.clock(), raw_type="text")
    lock_key, owner = chat_lock_key(channel, user_id), secrets.token_hex(8)
    locked = _lock(runtime, lock_key, owner)
    try:
        return _run(runtime, message)
    finally:
        if locked:
            _unlock(runtime, lock_key, owner)


def _run(runtime: Runtime, message: InboundMessage) -> bool:
    # write=True: on SQLite the transaction takes the write lock when it begins (the turn reads, then
    # writes, while the worker and other requests write too); elsewhere it changes nothing.
    with session_scope(runtime.sessions, write=True) as session:
        if conv.stored_reply(session, msg_key=message.msg_key) is not None:
            return False
        result = _turn(runtime, message, session)
        sealed = seal(runtime.cipher, message, plan_messages(result.replies), our_id=None)
        conv.insert_inbox(session, **sealed.inbox_values, channel=message.channel, at=message.created_at)
        try:
            session.commit()
        except IntegrityError:  # a concurrent copy of the message committed first: its answer stands
            session.rollback()
            if conv.stored_reply(session, msg_key=message.msg_key) is None:
                raise
            return False
    if result.state_writes:
        try:
            with runtime.redis.pipeline(transaction=False) as pipe:
                for write in result.state_writes:
                    pipe.set(write.key, write.value, ex=write.ttl_s)
                pipe.execute()
        except Exception as exc:
            log_failure(log, "dialogue state not saved after the chat turn committed", exc)
    for callback in result.after_commit:
        try:
            callback()
        except Exception as exc:
            log_failure(log, "after-commit callback failed", exc)
    return True


def _turn(runtime: Runtime, message: InboundMessage, session: Session) -> TurnResult:
    """The engine's turn in ``session`` (uncommitted); a failed turn is rolled back → the busy text."""
    handler: TurnHandler | None = runtime.turn_handler
    if handler is None:
        log.error("no turn handler registered")
        return TurnResult([BotReply(text=fallback.NO_HANDLER)])
    try:
        return handler.handle_in(message, session=session)
    except Exception as exc:
        log_failure(log, f"turn handler failed (channel={message.channel})", exc)
        session.rollback()
        return TurnResult([BotReply(text=fallback.BUSY)])


def _lock(runtime: Runtime, key: str, owner: str) -> bool:
    """Wait a little for the customer's lock; go ahead without it when Redis fails or it stays held."""
    deadline = time.monotonic() + LOCK_WAIT_S
    try:
        while True:
            if runtime.redis.set(key, owner, nx=True, px=LOCK_TTL_MS):
                return True
            if time.monotonic() > deadline:
                log.warning("chat lock not acquired in time; processing anyway")
                return False
            time.sleep(0.02)
    except Exception as exc:
        log_failure(log, "chat lock unavailable", exc)
        return False


def _unlock(runtime: Runtime, key: str, owner: str) -> None:
    try:
        runtime.redis.eval(RELEASE_IF_OWNER, 1, key, owner)
    except Exception as exc:
        log_failure(log, "chat lock not released", exc)
