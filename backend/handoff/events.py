"""Live events of the handoff domain: an append-only log in the Redis Stream ``handoff:events``.

Every API process reads the same stream, so an agent connected to one process sees what happened in
another, and a browser that reconnects with the last id it saw replays what it missed (bare pub/sub would
drop it). The stream is capped (``MAXLEN ~``); a client whose last id is older than the oldest entry
kept is told to re-sync (fetch the lists again) instead of getting a silent gap.

Event data never carries clear personal data: ids, states and masked snippets only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aredis

STREAM = "handoff:events"
MAXLEN = 10_000

EVENT_TYPES = frozenset({
    "handoff.queued",
    "handoff.assigned",
    "handoff.message",
    "handoff.note",
    "handoff.transferred",
    "handoff.closed",
    "handoff.rated",
    "handoff.sla_warning",
    "handoff.sla_breach",
    "handoff.case_created",
    "handoff.claim_moved",
    "work_item.taken",  # a call-back, follow-up or data change taken / finished (the 待办 list)
    "work_item.finished",
    "agent.state",
})


@dataclass(frozen=True)
class Event:
    """One entry of the stream."""

    id: str
    type: str
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "data": self.data}


def publish(client: redis.Redis, type: str, data: dict[str, Any]) -> str:
    """Append an event and return its stream id."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown handoff event type {type!r}")
    fields = {"type": type, "data": json.dumps(data, ensure_ascii=False, separators=(",", ":"))}
    raw = client.xadd(STREAM, fields, maxlen=MAXLEN, approximate=True)  # type: ignore[arg-type]
    return _text(raw)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _parse_id(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def valid_id(stream_id: str) -> bool:
    """Whether ``stream_id`` looks like a Redis stream id (``<ms>`` or ``<ms>-<seq>``)."""
    try:
        ms, seq = _parse_id(stream_id)
    except ValueError:
        return False
    return ms >= 0 and seq >= 0


def _decode(entries: Any) -> list[Event]:
    events: list[Event] = []
    for raw_id, raw_fields in entries or []:
        fields = {_text(k): _text(v) for k, v in raw_fields.items()}
        try:
            data = json.loads(fields.get("data", "{}"))
        except ValueError:
            data = {}
        events.append(Event(id=_text(raw_id), type=fields.get("type", ""), data=data))
    return events


def _too_old(first: Any, last_id: str) -> bool:
    """True when entries after ``last_id`` may have been trimmed away."""
    if last_id in ("0", "0-0") or not first:
        return False
    oldest = _text(first[0][0])
    return _parse_id(last_id) < _parse_id(oldest)


def last_id(client: redis.Redis) -> str:
    """The id of the newest event, ``0-0`` when there is none (a fresh client starts there)."""
    newest = client.xrevrange(STREAM, count=1)
    return _text(newest[0][0]) if newest else "0-0"


def read_after(client: redis.Redis, last: str, count: int = 500) -> tuple[list[Event], bool]:
    """Events after ``last`` (oldest first, at most ``count``), and whether the client must re-sync
    because ``last`` is older than the oldest entry the stream still holds."""
    if not valid_id(last):
        return [], True
    first = client.xrange(STREAM, count=1)
    if _too_old(first, last):
        return [], True
    entries = client.xrange(STREAM, min=f"({last}", count=count)
    return _decode(entries), False


async def read_after_async(client: aredis.Redis, last: str, count: int = 500) -> tuple[list[Event], bool]:
    """``read_after`` on an asyncio client (the WebSocket's replay)."""
    if not valid_id(last):
        return [], True
    first = await client.xrange(STREAM, count=1)
    if _too_old(first, last):
        return [], True
    entries = await client.xrange(STREAM, min=f"({last}", count=count)
    return _decode(entries), False


async def wait_after(client: aredis.Redis, last: str, *, block_ms: int, count: int = 500) -> list[Event]:
    """Block up to ``block_ms`` for events after ``last`` (XREAD BLOCK; live delivery)."""
    reply: Any = await client.xread({STREAM: last}, count=count, block=block_ms)
    if not reply:
        return []
    if isinstance(reply, dict):  # RESP3 answers a mapping of stream -> entries
        return _decode(next(iter(reply.values())))
    return _decode(reply[0][1])
