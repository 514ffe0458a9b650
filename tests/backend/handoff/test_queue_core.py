"""The queue: priority and skill group on enqueue, the waiting order, position, an honest wait range
from agents online and handling times, service hours; agents' presence by heartbeat (SQLite and
PostgreSQL, real Redis)."""

from __future__ import annotations

import datetime as dt

import redis
from sqlalchemy.orm import Session

from backend.handoff import agents, queue
from backend.handoff.customer import wait_message
from backend.handoff.models import HandoffRequest
from backend.handoff.service import open_handoff, request_handoff
from backend.jobs import service as jobs
from backend.security.crypto import FieldCipher

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)  # a Monday, 10:00 in Shantou


def _ask(
    db: Session,
    cipher: FieldCipher,
    user: str,
    reason: str = "asked",
    *,
    at: dt.datetime = T0,
    flow: str | None = None,
    age: int | None = None,
) -> HandoffRequest:
    return request_handoff(
        db,
        channel="official_account",
        user_id=user,
        reason=reason,
        flow=flow,
        summary="我要找人",
        cipher=cipher,
        now=at,
        age=age,
    )


def test_enqueue_sets_queue_fields_and_arms_both_sla_timers(db: Session, cipher: FieldCipher) -> None:
    row = _ask(db, cipher, "o-q1", flow="claim_report")
    assert (row.status, row.queued_at, row.priority, row.skill_group) == ("queued", T0, 3, "claims")
    warn = jobs.get_job(db, kind=queue.SLA_KIND, key=f"{row.id}:warn")
    breach = jobs.get_job(db, kind=queue.SLA_KIND, key=f"{row.id}:breach")
    assert warn is not None and warn.due_at == T0 + dt.timedelta(seconds=120)
    assert breach is not None and breach.due_at == T0 + dt.timedelta(seconds=180)


def test_priority_hurt_now_then_complaint_then_aged_80_then_others_oldest_first(
    db: Session, cipher: FieldCipher
) -> None:
    other_old = _ask(db, cipher, "o-p1", at=T0)
    aged = _ask(db, cipher, "o-p2", at=T0 + dt.timedelta(seconds=10), age=83)
    complaint = _ask(db, cipher, "o-p3", "complaint", at=T0 + dt.timedelta(seconds=20))
    urgent = _ask(db, cipher, "o-p4", "urgent", at=T0 + dt.timedelta(seconds=30))
    other_new = _ask(db, cipher, "o-p5", at=T0 + dt.timedelta(seconds=40))
    assert [r.id for r in queue.waiting(db)] == [urgent.id, complaint.id, aged.id, other_old.id, other_new.id]
    assert complaint.skill_group == "complaints" and aged.priority == 2
    # position counts within the skill group
    assert queue.position(db, other_new) == 4  # urgent, aged and other_old (all general) are ahead
    assert queue.position(db, urgent) == 1


def test_a_complaint_while_waiting_moves_the_request_up(db: Session, cipher: FieldCipher) -> None:
    row = _ask(db, cipher, "o-up")
    again = _ask(db, cipher, "o-up", "complaint")
    assert again.id == row.id and row.priority == 1


def test_work_items_do_not_silence_the_bot_nor_wait_in_the_queue(db: Session, cipher: FieldCipher) -> None:
    request_handoff(db, channel="official_account", user_id="o-wi", reason="callback", cipher=cipher, now=T0)
    assert open_handoff(db, channel="official_account", user_id="o-wi") is None
    assert queue.waiting(db) == []


def test_heartbeat_expiry_makes_the_agent_away(db: Session, redis_client: redis.Redis) -> None:
    agents.set_state(db, redis_client, 7001, "online", T0)
    assert [a.staff_id for a in agents.online_agents(db, redis_client)] == [7001]
    assert 0 < int(redis_client.ttl(agents.heartbeat_key(7001))) <= 60
    redis_client.delete(agents.heartbeat_key(7001))  # a minute without heartbeat: the key expired
    assert agents.online_agents(db, redis_client) == []
    assert [a.state for a in agents.all_agents(db, redis_client)] == ["away"]


def test_estimate_is_a_range_from_position_slots_and_handling_time(
    db: Session, cipher: FieldCipher, redis_client: redis.Redis
) -> None:
    # nobody online: the exceptional standard, and the customer is offered a message or call-back
    first = _ask(db, cipher, "o-e0")
    assert queue.estimate_wait(db, redis_client, first, T0) == (300, 1800)
    text = wait_message(db, redis_client, first, T0)
    assert text is not None and "回电" in text
    assert wait_message(db, redis_client, first, T0) is None  # told once
    # one agent online with 3 free slots: the first three are served at once
    agents.set_state(db, redis_client, 7002, "online", T0)
    assert queue.estimate_wait(db, redis_client, first, T0) == (0, 120)
    rows = [_ask(db, cipher, f"o-e{i}", at=T0 + dt.timedelta(seconds=i)) for i in range(1, 10)]
    low, high = queue.estimate_wait(db, redis_client, rows[-1], T0)
    # 10th in line, 3 free slots: 7 departures at rate 3/360 s → mean 840 s
    assert low < 840 < high and high - low >= 60 and low % 60 == 0 and high % 60 == 0
    more = agents.set_state(db, redis_client, 7003, "online", T0)
    assert more.capacity == 3
    _low2, high2 = queue.estimate_wait(db, redis_client, rows[-1], T0)
    assert high2 < high  # more agents, shorter wait


def test_erlang_quantiles_bracket_the_mean() -> None:
    n, rate = 7, 3 / 360
    mean = n / rate
    assert queue.erlang_quantile(n, rate, 0.1) < mean < queue.erlang_quantile(n, rate, 0.9)
    assert abs(queue.erlang_quantile(1, 1.0, 0.5) - 0.693) < 0.01  # exponential median ln 2


def test_service_hours_and_the_next_working_morning() -> None:
    assert queue.in_service_hours(T0, None)  # Monday 10:00 local
    evening = dt.datetime(2026, 12, 7, 11, 0, tzinfo=dt.UTC)  # 19:00 local
    assert not queue.in_service_hours(evening, None)
    due = queue.next_service_start(evening, None)
    assert due == dt.datetime(2026, 12, 8, 0, 30, tzinfo=dt.UTC)  # Tuesday 08:30 local
    friday_night = dt.datetime(2026, 12, 11, 13, 0, tzinfo=dt.UTC)
    assert queue.next_service_start(friday_night, None).date() == dt.date(2026, 12, 14)


def test_call_back_left_at_night_is_a_work_item_the_next_working_morning(
    db: Session, cipher: FieldCipher
) -> None:
    from backend.handoff.customer import leave_callback, outside_hours_message

    evening = dt.datetime(2026, 12, 7, 11, 0, tzinfo=dt.UTC)  # 19:00 local
    assert "12月8日8点半" in outside_hours_message(evening, None)
    item = leave_callback(
        db,
        channel="official_account",
        user_id="o-cb",
        now=evening,
        cipher=cipher,
        calendar=None,
        summary="请回电",
    )
    assert queue.work_items(db, now=evening) == []
    morning = dt.datetime(2026, 12, 8, 0, 30, tzinfo=dt.UTC)
    assert [r.id for r in queue.work_items(db, now=morning)] == [item.id]
