"""Exactly-once processing of WeChat pushes: dedupe, per-user order, the turn, the stored answer.

* Dedupe (W-09): ``SET NX EX`` on the message key in Redis, the inbox table's unique ``msg_key`` as
  the source of truth (and the only guard while Redis is down, F-R2). Copies arriving in this process
  while the first is running share its future; copies elsewhere poll for the stored answer.
* Order (W-17): a per-openid lock in Redis around the turn.
* The turn runs in a worker thread; when it ends within the passive budget its first message is the
  passive reply, otherwise the webhook answers ``success`` and the job sends everything through the
  customer-service API. The inbox row and the turn log are written in one transaction; if that fails
  (database down, F-P1) the claim is released and the webhook answers 503 so WeChat retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from backend.conversations import service as conv
from backend.db import session_scope, utcnow
from backend.runtime import Runtime
from bot import messages as copy
from bot.contract import BotReply, InboundMessage, NewsItem, TurnHandler
from bot.redis_guard import RedisGuard, RedisUnavailable
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
_FINISH = """
if ARGV[1] == '' then redis.call('del', KEYS[1]) else redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
if redis.call('get', KEYS[2]) == ARGV[3] then redis.call('del', KEYS[2]) end
return 1
"""
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class DatabaseDown(Exception):
    """The message could not be stored; the webhook answers 503 so WeChat delivers it again."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the webhook answers: the passive reply XML (plain), or None for ``success``."""

    passive_xml: str | None
    extras: tuple[OutMessage, ...] = ()


_DUPLICATE = object()


@dataclass
class _Job:
    message: InboundMessage
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: bool = False
    abandoned: bool = False

    def abandon(self) -> bool:
        """Give up waiting; False when the job finished meanwhile."""
        with self.lock:
            if self.done:
                return False
            self.abandoned = True
            return True


def _dump_messages(messages: list[OutMessage]) -> list[dict[str, object]]:
    return [{"text": m.text, "news": [[n.title, n.description, n.url, n.image_url] for n in m.news]}
            for m in messages]


def _load_messages(raw: Any) -> list[OutMessage]:
    out = []
    for item in raw or []:
        news = tuple(NewsItem(*n) for n in item.get("news", []))
        out.append(OutMessage(text=item.get("text", ""), news=news))
    return out


class Processor:
    """Runs each WeChat push through the turn handler exactly once."""

    def __init__(self, *, runtime: Runtime, settings: WechatSettings, guard: RedisGuard,
                 gateway: Any = None, max_workers: int = 16) -> None:
        self.runtime = runtime
        self.settings = settings
        self.guard = guard
        self.gateway = gateway
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="wx-turn")
        self._inflight: dict[str, asyncio.Future[Answer]] = {}
        self._claim = guard.client.register_script(_CLAIM)
        self._finish = guard.client.register_script(_FINISH)
        self._unlock = guard.client.register_script(_UNLOCK)
        self.our_id = settings.original_id or settings.app_id or "gh_service"

    def close(self) -> None:
        """Stop the worker threads (waits for running turns)."""
        self.executor.shutdown(wait=True)

    # -- async entry point ----------------------------------------------------------------------
    async def process(self, message: InboundMessage) -> Answer:
        """The answer to this push; concurrent copies in this process share one turn."""
        key = message.msg_key
        fut = self._inflight.get(key)
        if fut is None:
            fut = asyncio.ensure_future(self._process_once(message))
            self._inflight[key] = fut
            fut.add_done_callback(lambda _f: self._inflight.pop(key, None))
        return await asyncio.shield(fut)

    async def _process_once(self, message: InboundMessage) -> Answer:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.passive_reply_budget_s
        for _attempt in range(3):
            job = _Job(message)
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
                row = conv.get_inbox(session, msg_key=message.msg_key)
                if row is None:
                    return "gone", None
                if row.status == "done":
                    stored = conv.decrypt_replies(cipher=self.runtime.cipher, token=row.reply_enc)
                    return "done", Answer(stored.get("xml"))  # type: ignore[arg-type]
                return "pending", None
        except SQLAlchemyError:
            return "pending", None

    def _decode(self, token: str) -> Answer:
        stored = json.loads(self.runtime.cipher.decrypt(token, purpose=conv.REPLY_PURPOSE))
        return Answer(stored.get("xml"))

    # -- the job (worker thread) ---------------------------------------------------------------------
    def _acquire(self, message: InboundMessage, owner: str) -> tuple[bool | None, bool]:
        """(claimed: True/False/None when Redis is down, user lock held)."""
        keys = ["wx:msg:" + message.msg_key, "wx:user:" + message.user_id]
        lock_ms = int(self.settings.user_lock_ttl_s * 1000)
        try:
            claimed, locked = self.guard.call(
                lambda r: self._claim(keys=keys, args=[int(self.settings.dedupe_ttl_s), owner, lock_ms]))
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

    def _release(self, message: InboundMessage, owner: str, *, value: str) -> None:
        keys = ["wx:msg:" + message.msg_key, "wx:user:" + message.user_id]
        args: list[str | int] = [value, self.settings.dedupe_ttl_s, owner]
        with contextlib.suppress(RedisUnavailable):
            self.guard.call(lambda r: self._finish(keys=keys, args=args))

    def _run_job(self, job: _Job) -> object:
        message = job.message
        owner = secrets.token_hex(8)
        claimed, _held = self._acquire(message, owner)
        if claimed is False:
            return _DUPLICATE
        inbox_id: int | None = None
        cipher = self.runtime.cipher
        if claimed is None:  # Redis down: the database's unique constraint decides (F-R2)
            try:
                with session_scope(self.runtime.sessions) as session:
                    row = conv.claim_inbox(session, cipher=cipher, msg_key=message.msg_key,
                                           openid=message.user_id, msg_type=message.raw_type,
                                           event=message.event, content=message.text)
                    inbox_id = None if row is None else row.id
            except SQLAlchemyError:
                raise DatabaseDown("inbox insert failed") from None
            if inbox_id is None:
                return _DUPLICATE
        started = time.monotonic()
        replies = self._run_handler(message)
        outs = plan_messages(replies)
        xml = render_passive(outs[0], to_user=message.user_id, from_user=self.our_id) if outs else None
        stored: dict[str, object] = {"xml": xml, "messages": _dump_messages(outs)}
        duration_ms = int((time.monotonic() - started) * 1000)
        try:
            with session_scope(self.runtime.sessions) as session:
                if inbox_id is None:
                    row = conv.claim_inbox(session, cipher=cipher, msg_key=message.msg_key,
                                           openid=message.user_id, msg_type=message.raw_type,
                                           event=message.event, content=message.text, replies=stored,
                                           delivery="passive" if xml else "none")
                    if row is None:  # processed elsewhere while Redis forgot it
                        first = conv.get_inbox(session, msg_key=message.msg_key)
                        got = conv.decrypt_replies(cipher=cipher, token=first.reply_enc if first else None)
                        self._release(message, owner, value="")
                        return Answer(got.get("xml"))  # type: ignore[arg-type]
                    inbox_id = row.id
                else:
                    row_obj = conv.get_inbox(session, msg_key=message.msg_key)
                    assert row_obj is not None
                    conv.complete_inbox(session, cipher=cipher, inbox=row_obj, replies=stored,
                                        delivery="passive" if xml else "none")
                if message.event == "templatesendjobfinish" and message.text:
                    conv.record_template_receipt(
                        session, template_msgid=message.text, openid=message.user_id,
                        status=message.event_key or "", received_at=message.created_at or utcnow())
                if message.kind != "unknown" and message.event != "templatesendjobfinish":
                    conv.record_turn(session, cipher=cipher, channel=message.channel,
                                     user_id=message.user_id, inbox_id=inbox_id,
                                     inbound_kind=message.event or message.kind,
                                     inbound_text=message.text,
                                     reply_texts=[m.text for m in outs if m.text], duration_ms=duration_ms)
        except SQLAlchemyError:
            log.error("could not store a WeChat message; answering 503 so WeChat retries")
            self._release(message, owner, value="")
            raise DatabaseDown("inbox write failed") from None
        value = "D" + cipher.encrypt(json.dumps(stored, ensure_ascii=False), purpose=conv.REPLY_PURPOSE)
        self._release(message, owner, value=value)
        with job.lock:
            job.done = True
            abandoned = job.abandoned
        if abandoned:
            self._deliver(message.user_id, outs)
        elif len(outs) > 1:
            self.executor.submit(self._deliver, message.user_id, outs[1:], 0.3)
        return Answer(xml, tuple(outs[1:]))

    def _run_handler(self, message: InboundMessage) -> list[BotReply]:
        if message.kind == "unknown" or (message.kind == "event" and message.event not in HANDLED_EVENTS):
            log.info("unhandled WeChat push type=%s event=%s", message.raw_type, message.event)
            return []
        handler: TurnHandler | None = self.runtime.extras.get("turn_handler")
        if handler is None:
            log.error("no turn handler registered")
            return [BotReply(text=copy.NO_HANDLER)]
        try:
            return list(handler.handle(message))
        except Exception:
            log.exception("turn handler failed (kind=%s)", message.kind)
            return [BotReply(text=copy.BUSY)]

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
