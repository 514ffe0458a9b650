"""The handoff event log: ids in order, replay after an id, re-sync when trimmed away."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio as aredis

from backend.handoff import events


def test_publish_returns_increasing_ids_and_read_after_replays_in_order(redis_client: redis.Redis) -> None:
    first = events.publish(redis_client, "handoff.queued", {"handoff_id": 1})
    second = events.publish(redis_client, "handoff.message", {"handoff_id": 1, "snippet": "我要**"})
    third = events.publish(redis_client, "handoff.assigned", {"handoff_id": 1, "agent_id": 7})
    assert all(events.valid_id(i) for i in (first, second, third))
    assert events._parse_id(first) < events._parse_id(second) < events._parse_id(third)
    got, resync = events.read_after(redis_client, first)
    assert not resync
    assert [e.id for e in got] == [second, third]
    assert got[0].type == "handoff.message" and got[0].data == {"handoff_id": 1, "snippet": "我要**"}
    assert events.read_after(redis_client, third) == ([], False)
    everything, resync = events.read_after(redis_client, "0-0")
    assert [e.id for e in everything] == [first, second, third] and not resync
    assert events.last_id(redis_client) == third


def test_unknown_type_is_refused(redis_client: redis.Redis) -> None:
    with pytest.raises(ValueError):
        events.publish(redis_client, "handoff.whatever", {"handoff_id": 1})
    assert redis_client.xlen(events.STREAM) == 0


def test_an_id_older_than_the_oldest_entry_asks_for_resync(redis_client: redis.Redis) -> None:
    ids = [events.publish(redis_client, "handoff.message", {"handoff_id": i}) for i in range(5)]
    # trim as MAXLEN would after many more events
    redis_client.xtrim(events.STREAM, maxlen=2, approximate=False)
    got, resync = events.read_after(redis_client, ids[0])
    assert resync and got == []
    got, resync = events.read_after(redis_client, ids[3])
    assert not resync and [e.id for e in got] == [ids[4]]


def test_garbage_id_asks_for_resync(redis_client: redis.Redis) -> None:
    events.publish(redis_client, "handoff.queued", {"handoff_id": 1})
    assert events.read_after(redis_client, "not-an-id") == ([], True)


def test_stream_is_capped(redis_client: redis.Redis) -> None:
    pipe_count = events.MAXLEN + 500
    for _ in range(pipe_count):
        redis_client.xadd(events.STREAM, {"type": "handoff.queued", "data": "{}"})
    events.publish(redis_client, "handoff.queued", {"handoff_id": 1})
    # MAXLEN ~ trims whole macro nodes: near the cap, never the whole history
    assert events.MAXLEN <= redis_client.xlen(events.STREAM) < pipe_count


def test_async_replay_and_blocking_wait(redis_client: redis.Redis, redis_server) -> None:  # type: ignore[no-untyped-def]
    start = events.publish(redis_client, "handoff.queued", {"handoff_id": 9})

    async def scenario() -> tuple[list[events.Event], list[events.Event], list[events.Event]]:
        client = aredis.Redis.from_url(redis_server.url)
        try:
            replay, resync = await events.read_after_async(client, "0-0")
            assert not resync
            nothing = await events.wait_after(client, start, block_ms=50)
            waiter = asyncio.create_task(events.wait_after(client, start, block_ms=5000))
            await asyncio.sleep(0.05)
            await asyncio.to_thread(events.publish, redis_client, "handoff.closed", {"handoff_id": 9})
            live = await waiter
            return replay, nothing, live
        finally:
            await client.aclose()

    replay, nothing, live = asyncio.run(scenario())
    assert [e.id for e in replay] == [start]
    assert nothing == []
    assert [e.type for e in live] == ["handoff.closed"] and live[0].data == {"handoff_id": 9}
