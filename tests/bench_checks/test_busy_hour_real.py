"""The busy-hour harness (tests/bench/busy_hour.py) run small against the real handoff code: every
customer is answered, nobody is served out of the product's order, no agent holds more chats than their
capacity, and what the customer was told is what the product stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from backend.db import make_engine
from backend.handoff.models import HandoffRequest
from backend.security.crypto import FieldCipher
from tests.bench.busy_hour import Customer, Profile, simulate

SMALL = Profile(per_hour=60, warmup_s=120.0, cooldown_s=90.0)


def _run(tmp_path: Path, redis_client: redis.Redis, cipher: FieldCipher, *, agents: int, mode: str):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'busy.sqlite3'}")
    result = simulate(agents=agents, profile=SMALL, seed=4, mode=mode, engine=engine,
                      redis_client=redis_client, cipher=cipher)
    return result, engine


def _max_concurrent(customers: list[Customer], agent: int) -> int:
    edges = sorted([(c.assigned_s, 1) for c in customers if c.agent == agent and c.assigned_s is not None]
                   + [(c.closed_s, -1) for c in customers if c.agent == agent and c.closed_s is not None],
                   key=lambda e: (e[0], e[1]))  # a close before an assignment at the same instant
    level = peak = 0
    for _t, step in edges:
        level += step
        peak = max(peak, level)
    return peak


@pytest.mark.parametrize("mode", ["auto", "pick"])
def test_small_busy_hour_through_the_real_queue(tmp_path: Path, redis_client: redis.Redis,
                                                cipher: FieldCipher, mode: str) -> None:
    result, engine = _run(tmp_path, redis_client, cipher, agents=3, mode=mode)
    everyone = [c for c in result.customers if c.handoff_id]
    assert len(result.counted) == 60
    assert result.unanswered() == 0 and all(c.closed_s is not None for c in everyone)
    assert all(c.arrive_s <= c.assigned_s <= c.first_reply_s for c in everyone)  # type: ignore[operator]
    for agent in {c.agent for c in everyone}:
        assert agent is not None and _max_concurrent(everyone, agent) <= 3
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(HandoffRequest))}
        assert conn.scalar(select(func.count()).select_from(HandoffRequest)
                           .where(HandoffRequest.status != "closed")) == 0
    for c in everyone:
        row = rows[c.handoff_id]
        assert row.agent_id == c.agent and row.first_response_at is not None
        assert c.told == (row.told_low_s, row.told_high_s) and row.told_low_s <= row.told_high_s
    # The product's order: within one priority, nobody queued later is given to an agent earlier.
    by_priority: dict[int, list[Customer]] = {}
    for c in everyone:
        by_priority.setdefault(rows[c.handoff_id].priority, []).append(c)
    for same in by_priority.values():
        same.sort(key=lambda c: (c.arrive_s, c.handoff_id))
        assigned = [c.assigned_s for c in same]
        assert assigned == sorted(assigned)  # type: ignore[type-var]
    summary = result.summary()
    assert 0.0 <= summary["within_3min"] <= 1.0 and summary["p50_s"] <= summary["p90_s"]
    json.dumps(summary)
    engine.dispose()


def test_one_agent_for_sixty_chats_misses_the_three_minutes(tmp_path: Path, redis_client: redis.Redis,
                                                              cipher: FieldCipher) -> None:
    """The figures move with staffing: one agent (3 slots) for 60 chats an hour of 6 minutes (6 Erlangs)
    cannot keep up, and the customers were told long waits."""
    result, engine = _run(tmp_path, redis_client, cipher, agents=1, mode="auto")
    assert result.share_within(180.0) < 0.5
    assert max(c.told[1] for c in result.counted if c.told) > 180
    engine.dispose()
