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

from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask
from taskiq.message import TaskiqMessage
from taskiq_redis import RedisStreamBroker

from backend.jobs.runner import Claimed

TASK_NAME = "jobs.run"


def make_broker(url: str, settings: Any, *, consumer_name: str | None = None) -> RedisStreamBroker:
    """A stream broker on ``url`` with the job settings (``config.settings.JobsSettings``)."""
    return RedisStreamBroker(
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


def register_task(broker: AsyncBroker, run: Callable[[str, list[list[int]]], int]
                  ) -> AsyncTaskiqDecoratedTask[Any, Any]:
    """Declare the one task: ``run(kind, [[id, token], …])`` (a sync function: taskiq runs it in its
    thread pool)."""
    return broker.register_task(run, task_name=TASK_NAME)


def messages(claimed: Sequence[Claimed], batch_sizes: dict[str, int]) -> list[tuple[str, list[list[int]]]]:
    """The queue messages for claimed rows: one per row, or per batch of a batch kind."""
    by_kind: dict[str, list[list[int]]] = {}
    for c in claimed:
        by_kind.setdefault(c.kind, []).append([c.id, c.token])
    out: list[tuple[str, list[list[int]]]] = []
    for kind, pairs in by_kind.items():
        size = max(1, batch_sizes.get(kind, 1))
        out.extend((kind, pairs[i:i + size]) for i in range(0, len(pairs), size))
    return out


async def kick_many(broker: RedisStreamBroker, msgs: Sequence[tuple[str, list[list[int]]]]) -> None:
    """Send many task messages in one Redis round trip.

    ``task.kiq()`` costs one round trip and a pool checkout per message (about 0.6 ms here); the
    poller sends hundreds at once. The messages are exactly what ``kiq`` sends (the broker's
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
