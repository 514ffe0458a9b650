"""Redis connections: an external server by URL, or the embedded real Redis of local mode
(``backend.embedded_redis``: shared by the service and the admin commands, stopped only by the process
that started it, restarted when it dies).

Hot-path clients use short timeouts and a single retry (catalogue F-R1): a dead Redis must fail in
well under WeChat's 5 s, not after redis-py's default minute of retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

if TYPE_CHECKING:
    from backend.embedded_redis import EmbeddedRedis

log = logging.getLogger(__name__)


def client_kwargs(*, socket_timeout: float, connect_timeout: float) -> dict[str, Any]:
    """Keyword arguments shared by the sync and asyncio clients."""
    return {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": connect_timeout,
        "health_check_interval": 30,
        "decode_responses": False,
    }


@dataclass
class RedisHandle:
    """The URL in use and, in local mode, the embedded server (``EmbeddedRedis``)."""

    url: str
    embedded: EmbeddedRedis | None = field(default=None, repr=False)
    socket_timeout: float = 0.3
    connect_timeout: float = 0.3

    def sync_client(self) -> redis.Redis:
        """A blocking client with short timeouts and one retry."""
        client = redis.Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 1),
            **client_kwargs(socket_timeout=self.socket_timeout, connect_timeout=self.connect_timeout),
        )
        if self.embedded is not None:
            self.embedded.track(client)
        return client

    def close(self) -> None:
        """Let go of the embedded server: stopped only if this process started it."""
        if self.embedded is not None:
            try:
                self.embedded.close()
            except Exception as exc:  # pragma: no cover - best effort at exit
                log.warning("embedded redis did not shut down cleanly: %s", type(exc).__name__)
            self.embedded = None


def open_redis(*, url: str, var_dir: Path, socket_timeout: float, connect_timeout: float) -> RedisHandle:
    """Connect to ``url``; when it is empty, attach to (or start) the supervised embedded Redis of
    ``var_dir``."""
    if url:
        return RedisHandle(url=url, socket_timeout=socket_timeout, connect_timeout=connect_timeout)
    from backend.embedded_redis import EmbeddedRedis  # local mode only

    server = EmbeddedRedis(var_dir)
    server.open()
    server.supervise()
    return RedisHandle(
        url=server.url,
        embedded=server,
        socket_timeout=max(socket_timeout, 1.0),
        connect_timeout=max(connect_timeout, 1.0),
    )
