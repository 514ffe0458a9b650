"""Customer-service (客服) messages: what follows a passive reply, or replaces it when a turn was slow."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from backend.conversations import service as conv
from backend.db import session_scope
from backend.runtime import Runtime
from bot.replies import OutMessage

log = logging.getLogger(__name__)


class Delivery:
    """Sends messages through the customer-service API on its own small pool (the sends wait on the
    network, so they never hold up turns)."""

    def __init__(self, *, gateway: Any, runtime: Runtime) -> None:
        self.gateway = gateway  # backend.gateways.wechat.WechatGateway, or None (not configured)
        self.runtime = runtime
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="wx-send")

    def close(self) -> None:
        """Wait for the sends under way."""
        self.pool.shutdown(wait=True)

    def later(self, openid: str, outs: list[OutMessage], delay: float = 0.0) -> None:
        """:meth:`send` on the pool."""
        self.pool.submit(self.send, openid, outs, delay)

    def send(self, openid: str, outs: list[OutMessage], delay: float = 0.0) -> None:
        """Send ``outs`` in order (after ``delay`` seconds); stop at the first refusal."""
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
