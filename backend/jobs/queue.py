"""The transport: taskiq over a Redis stream (taskiq-redis ``RedisStreamBroker``).

A stream with a consumer group gives each message to one worker, which acknowledges it after the
task ran; messages of a dead worker are moved to a live one (XAUTOCLAIM). Two settings of the broker
matter (``shared/notes/notices-and-jobs.md``): ``unacknowledged_lock_timeout``, without which the
autoclaim lock of a killed worker is never released, and ``consumer_id="0"``, so that a group created
again after Redis lost its data reads the messages already in the stream instead of skipping them.
The database stays the truth: a message only says "run job ``id`` with token ``t``", and a message
lost with Redis is sent again when the row's lease passes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from taskiq import AckableMessage, AsyncBroker, AsyncTaskiqDecoratedTask
from taskiq.message import TaskiqMessage
from taskiq_redis import RedisStreamBroker

from backend.jobs.runner import Claimed

TASK_NAME = "jobs.run"
log = logging.getLogger(__name__)


class JobStreamBroker(RedisStreamBroker):
    """taskiq-redis's stream broker, surviving Redis going away: its receiver listens again at once
    after an error, with the same broker, forever; so here a lost connection waits a second before
    the next try, and a consumer group that vanished with Redis's data is created again."""

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        while True:
            try:
                async for message in super().listen():
                    yield message
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                log.warning("job stream: consumer group gone (Redis lost its data); creating it again")
                await self._ensure_group()
            except (RedisConnectionError, OSError) as exc:
                log.warning("job stream: Redis unavailable (%s); listening again in 1 s", type(exc).__name__)
                await asyncio.sleep(1.0)

    async def _ensure_group(self) -> None:
        async with Redis(connection_pool=self.connection_pool) as conn:
            try:
                await conn.xgroup_create(self.queue_name, self.consumer_group_name, id=self.consumer_id,
                                         mkstream=True)
            except ResponseError as exc:  # BUSYGROUP: another worker made it first
                if "BUSYGROUP" not in str(exc):
                    raise


def make_broker(url: str, settings: Any, *, consumer_name: str | None = None) -> RedisStreamBroker:
    """A stream broker on ``url`` with the job settings (``config.settings.JobsSettings``)."""
    return JobStreamBroker(
        url,
        queue_name=settings.stream,
        consumer_group_name="workers",
        consumer_name=consumer_name,
        consumer_id="0",
        maxlen=settings.stream_maxlen,
        approximate=True,
        idle_timeout=int(settings.idle_timeout_s * 1000),
        unacknowledged_lock_timeout=settings.autoclaim_lock_timeout_s,
        xread_block=1000,
        xread_count=max(1, min(100, settings.threads * 2)),
        max_connection_pool_size=settings.threads + 8,
        # The blocking read waits 1 s; a dead or black-holed Redis must not hang a worker longer.
        socket_timeout=10.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )


def register_task(broker: AsyncBroker, run: Callable[[str, list[list[Any]]], int]
                  ) -> AsyncTaskiqDecoratedTask[Any, Any]:
    """Declare the one task: ``run(kind, [[id, token], …])`` (a sync function: taskiq runs it in its
    thread pool)."""
    return broker.register_task(run, task_name=TASK_NAME)


# [id, token], or for a kind with a fast handler on its first claim [id, token, key, payload].
Pair = list[Any]


def messages(claimed: Sequence[Claimed], batch_sizes: dict[str, int],
             fast_kinds: frozenset[str] = frozenset(), fast_batch: int = 1) -> list[tuple[str, list[Pair]]]:
    """The queue messages for claimed rows: one per row, or per batch of a batch kind. A row of a kind
    with a fast handler claimed for the first time carries its key and payload (no read needed); such
    rows go ``fast_batch`` to a message (the worker sends them side by side and commits them as one
    group: one queue message, one acknowledgement and one commit for many notices)."""
    by_kind: dict[tuple[str, bool], list[Pair]] = {}
    for c in claimed:
        pair: Pair = [c.id, c.token]
        fast = c.kind in fast_kinds and c.token == 1
        if fast:
            pair += [c.key, c.payload]
        by_kind.setdefault((c.kind, fast), []).append(pair)
    out: list[tuple[str, list[Pair]]] = []
    for (kind, fast), pairs in by_kind.items():
        size = max(1, fast_batch if fast else batch_sizes.get(kind, 1))
        out.extend((kind, pairs[i:i + size]) for i in range(0, len(pairs), size))
    return out


async def kick_many(broker: RedisStreamBroker, msgs: Sequence[tuple[str, list[list[Any]]]]) -> None:
    """Send many task messages in one Redis round trip.

    ``task.kiq()`` costs one round trip and a pool checkout per message; the poller sends hundreds
    at once. The messages are exactly what ``kiq`` sends (the broker's
    formatter, and the stream entry ``RedisStreamBroker.kick`` writes: ``{b"data": message}`` with
    the broker's ``maxlen``); ``tests/backend/jobs`` checks that a receiver runs them.
    """
    if not msgs:
        return
    async with Redis(connection_pool=broker.connection_pool) as conn:
        pipe = conn.pipeline(transaction=False)
        for kind, pairs in msgs:
            message = TaskiqMessage(task_id=broker.id_generator(), task_name=TASK_NAME, labels={},
                                    labels_types={}, args=[kind, pairs], kwargs={})
            pipe.xadd(broker.queue_name, {b"data": broker.formatter.dumps(message).message},
                      maxlen=broker.maxlen, approximate=broker.approximate)
        await pipe.execute()
