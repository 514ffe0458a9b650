"""Customer-service (客服) messages: what follows a passive reply, or replaces it when a turn was slow.

When they replace it, the message's inbox row then records what really happened: ``custom_service``
(sent through the API) or ``undelivered`` (WeChat refused it, or no gateway), not ``passive``.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from backend.conversations import service as conv
from backend.db import session_scope
from backend.runtime import Runtime
from bot.group_commit import WriteLock
from bot.replies import OutMessage

log = logging.getLogger(__name__)


class Delivery:
    """Sends messages through the customer-service API on its own small pool (the sends wait on the
    network, so they never hold up turns)."""

    def __init__(self, *, gateway: Any, runtime: Runtime, db_lock: WriteLock | None = None) -> None:
        """``db_lock``: the write lock of this process's turns (SQLite has one writer)."""
        self.gateway = gateway  # backend.gateways.wechat.WechatGateway, or None (not configured)
        self.runtime = runtime
        self.db_lock = db_lock
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="wx-send")

    def close(self) -> None:
        """Wait for the sends under way."""
        self.pool.shutdown(wait=True)

    def later(self, openid: str, outs: list[OutMessage], delay: float = 0.0, *,
              msg_key: str | None = None) -> None:
        """:meth:`send` on the pool."""
        self.pool.submit(self.send, openid, outs, delay, msg_key=msg_key)

    def send(self, openid: str, outs: list[OutMessage], delay: float = 0.0, *,
             msg_key: str | None = None) -> int:
        """Send ``outs`` in order (after ``delay`` seconds); stop at the first refusal. ``msg_key``: they
        are that message's whole answer (instead of its passive reply): its inbox row records the
        delivery. The number sent."""
        if delay:
            time.sleep(delay)
        sent = self._send_all(openid, outs)
        if msg_key is not None and outs:
            self._record_delivery(msg_key, "custom_service" if sent else "undelivered")
        return sent

    def _send_all(self, openid: str, outs: list[OutMessage]) -> int:
        if self.gateway is None:
            log.error("no WeChat gateway configured: %d message(s) not delivered", len(outs))
            return 0
        from backend.gateways.wechat import WechatApiError, WechatUnreachable

        for sent, out in enumerate(outs):
            try:
                if out.news:
                    self.gateway.send_news(openid, [
                        {"title": n.title, "description": n.description, "url": n.url, "image": n.image_url}
                        for n in out.news])
                else:
                    self.gateway.send_text(openid, out.text)
            except WechatUnreachable as exc:
                self._record_unreachable(openid, exc.errcode or 0)
                return sent
            except WechatApiError as exc:
                log.error("customer-service message not sent (errcode %s)", exc.errcode)
                return sent
        return len(outs)

    def _record_delivery(self, msg_key: str, delivery: str) -> None:
        if self.db_lock is not None:
            self.db_lock.acquire()
        try:
            with session_scope(self.runtime.sessions) as session:
                conv.set_delivery(session, msg_key=msg_key, delivery=delivery)
        except SQLAlchemyError:
            log.error("could not record how a reply was delivered")
        finally:
            if self.db_lock is not None:
                self.db_lock.release()

    def _record_unreachable(self, openid: str, errcode: int) -> None:
        try:
            with session_scope(self.runtime.sessions) as session:
                conv.record_unreachable(session, openid=openid, errcode=errcode)
        except SQLAlchemyError:
            log.error("could not record an unreachable user")
