"""The agent's actions on a chat: take (one winner, A-06), automatic assignment, reply, note, transfer,
close and the rating; the customer's messages and 取消; who may read a chat (A-02); every state change
audited and published after commit."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from backend.audit.models import AuditRecord
from backend.db import AUDIT_KEY_INFO, make_engine
from backend.errors import ServiceError
from backend.handoff import agents, console, customer, events, messages, queue
from backend.handoff.models import HandoffMessage, HandoffRequest
from backend.handoff.service import AGENT_OWNED_KEY, conversation_digest, open_handoff, request_handoff
from backend.jobs import service as jobs
from backend.migrate import upgrade_to_head
from backend.security.crypto import FieldCipher
from tests.conftest import TEST_AUDIT_KEY
from tests.support.servers import PostgresServer

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
CH = "official_account"


def _ask(
    db: Session,
    cipher: FieldCipher,
    user: str,
    reason: str = "asked",
    *,
    at: dt.datetime = T0,
    flow: str | None = None,
) -> HandoffRequest:
    return request_handoff(
        db, channel=CH, user_id=user, reason=reason, flow=flow, summary="我要找人", cipher=cipher, now=at
    )


def _actions(db: Session, handoff_id: int) -> list[str]:
    return list(
        db.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.object_type == "handoff", AuditRecord.object_id == str(handoff_id))
            .order_by(AuditRecord.seq)
        )
    )


def test_two_agents_take_the_same_chat_one_wins__a_06(
    db: Session, cipher: FieldCipher, redis_client: redis.Redis
) -> None:
    row = _ask(db, cipher, "o-race")
    won = console.take(db, handoff_id=row.id, staff_id=11, now=T0, redis=redis_client)
    with pytest.raises(ServiceError) as lost:
        console.take(db, handoff_id=row.id, staff_id=12, now=T0, redis=redis_client)
    assert lost.value.code == "already_taken" and lost.value.status_code == 409
    assert won.agent_id == 11 and won.status == "agent"
    # not yet committed: the mirror and the event wait for the commit
    assert not redis_client.sismember(AGENT_OWNED_KEY, conversation_digest(CH, "o-race"))
    db.commit()
    assert redis_client.sismember(
        AGENT_OWNED_KEY, conversation_digest(CH, "o-race")
    )  # bot silent (fast path)
    evs, _ = events.read_after(redis_client, "0-0")
    assert [(e.type, e.data["agent_id"]) for e in evs] == [("handoff.assigned", 11)]
    assert _actions(db, row.id) == ["handoff.queued", "handoff.take"]


@pytest.fixture
def fresh_pg(postgres_server: PostgresServer) -> Iterator[Engine]:
    """A database of its own (the race commits for real, and audit rows cannot be deleted)."""
    url = make_url(postgres_server.url)
    name = f"race_{uuid.uuid4().hex[:10]}"
    dsn = f"host={url.host} port={url.port} user={url.username} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    upgrade_to_head(engine)
    yield engine
    engine.dispose()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _race(factory: sessionmaker[Session], handoff_id: int) -> dict[int, str]:
    """Agents 21 and 22 take the chat at the same moment, each in its own connection and thread."""
    barrier = threading.Barrier(2)
    results: dict[int, str] = {}

    def attempt(staff_id: int) -> None:
        with factory() as s:
            barrier.wait()
            try:
                console.take(s, handoff_id=handoff_id, staff_id=staff_id, now=T0)
                s.commit()
                results[staff_id] = "won"
            except ServiceError as exc:
                s.rollback()
                results[staff_id] = exc.code

    threads = [threading.Thread(target=attempt, args=(i,)) for i in (21, 22)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_agents_race_in_two_threads_on_postgresql__a_06(fresh_pg: Engine, cipher: FieldCipher) -> None:
    factory = sessionmaker(bind=fresh_pg, info={AUDIT_KEY_INFO: TEST_AUDIT_KEY})
    for attempt_no in range(5):  # several rounds: the barrier lines both updates up
        with factory() as s:
            row = request_handoff(
                s, channel=CH, user_id=f"o-thread-{attempt_no}", reason="asked", cipher=cipher, now=T0
            )
            s.commit()
            handoff_id = row.id
        results = _race(factory, handoff_id)
        assert sorted(results.values()) == ["already_taken", "won"]
        with factory() as s:
            got = s.get(HandoffRequest, handoff_id)
            winner = next(k for k, v in results.items() if v == "won")
            assert got is not None and got.agent_id == winner
            takes = s.scalars(
                select(AuditRecord.actor).where(
                    AuditRecord.action == "handoff.take", AuditRecord.object_id == str(handoff_id)
                )
            ).all()
            assert takes == [f"staff:{winner}"]


def test_assignment_least_loaded_of_the_group_with_room_and_sticky(
    db: Session, cipher: FieldCipher, redis_client: redis.Redis
) -> None:
    agents.set_state(db, redis_client, 31, "online", T0)
    agents.set_state(db, redis_client, 32, "online", T0)
    agents.set_capacity(db, 32, 1, now=T0, groups=["claims"])
    agents.set_state(db, redis_client, 33, "busy", T0)  # busy: keeps its chats, takes no new ones
    claim = _ask(db, cipher, "o-a1", flow="claim_report")
    general = _ask(db, cipher, "o-a2", at=T0 + dt.timedelta(seconds=1))
    pairs = console.assign_waiting(db, redis_client, T0)
    # claims: 31 and 32 both load 0 → lowest id 31; general: only 31 has the group
    assert pairs == [(claim.id, 31), (general.id, 31)]
    third = _ask(db, cipher, "o-a3", flow="claim_report", at=T0 + dt.timedelta(seconds=2))
    assert console.assign_waiting(db, redis_client, T0) == [(third.id, 32)]  # 32 is less loaded
    # the customer of the first chat comes back later: sticky to 31 though 32... is full; 31 has room
    console.close(
        db, handoff_id=claim.id, staff_id=31, disposition="resolved", summary="", now=T0, cipher=cipher
    )
    again = _ask(db, cipher, "o-a1", flow="claim_report", at=T0 + dt.timedelta(seconds=3))
    agents.set_capacity(db, 32, 3, now=T0)
    assert console.assign_waiting(db, redis_client, T0) == [(again.id, 31)]
    assert _actions(db, again.id) == ["handoff.queued", "handoff.assign"]


def test_reply_sets_first_response_cancels_timers_and_queues_delivery(
    db: Session, cipher: FieldCipher
) -> None:
    row = _ask(db, cipher, "o-r1")
    customer.customer_message(
        db, channel=CH, user_id="o-r1", text="还在吗", now=T0 + dt.timedelta(seconds=20), cipher=cipher
    )
    assert row.unread == 1
    console.take(db, handoff_id=row.id, staff_id=41, now=T0 + dt.timedelta(seconds=30))
    with pytest.raises(ServiceError) as other:
        console.reply(db, handoff_id=row.id, staff_id=42, text="您好", now=T0, cipher=cipher)
    assert other.value.code == "not_your_conversation"
    msg = console.reply(
        db,
        handoff_id=row.id,
        staff_id=41,
        text="您好，我是客服小陈",
        now=T0 + dt.timedelta(seconds=50),
        cipher=cipher,
    )
    db.refresh(row)
    assert row.first_response_at == T0 + dt.timedelta(seconds=50) and row.unread == 0
    assert msg.delivery == "pending" and "小陈" not in msg.text_enc  # encrypted at rest
    assert messages.read_text(msg, cipher=cipher) == "您好，我是客服小陈"
    assert jobs.is_waiting(db, kind=messages.DELIVER_KIND, key=str(msg.id))
    for stage in ("warn", "breach"):
        job = jobs.get_job(db, kind=queue.SLA_KIND, key=f"{row.id}:{stage}")
        assert job is not None and job.state == "cancelled"
    # a later customer message starts the next-response clock; the next reply stops it
    customer.customer_message(
        db, channel=CH, user_id="o-r1", text="那要多久", now=T0 + dt.timedelta(seconds=90), cipher=cipher
    )
    assert row.waiting_since == T0 + dt.timedelta(seconds=90)
    console.reply(
        db, handoff_id=row.id, staff_id=41, text="三天", now=T0 + dt.timedelta(seconds=100), cipher=cipher
    )
    assert row.waiting_since is None
    directions = [m.direction for m in messages.history(db, row.id)]
    assert directions == ["customer", "agent", "customer", "agent"]


def test_note_is_private_and_transfer_needs_a_note(db: Session, cipher: FieldCipher) -> None:
    row = _ask(db, cipher, "o-t1")
    console.take(db, handoff_id=row.id, staff_id=51, now=T0)
    n = console.note(db, handoff_id=row.id, staff_id=51, text="客户耳背，慢慢讲", now=T0, cipher=cipher)
    assert n.delivery == "n/a" and not jobs.is_waiting(db, kind=messages.DELIVER_KIND, key=str(n.id))
    with pytest.raises(ServiceError) as no_note:
        console.transfer(
            db, handoff_id=row.id, staff_id=51, to_group="claims", note=" ", now=T0, cipher=cipher
        )
    assert no_note.value.code == "transfer_note_required"
    console.transfer(
        db, handoff_id=row.id, staff_id=51, to_group="claims", note="是理赔的事", now=T0, cipher=cipher
    )
    assert (row.status, row.agent_id, row.skill_group, row.queued_at) == ("queued", None, "claims", T0)
    console.take(db, handoff_id=row.id, staff_id=52, now=T0)
    console.transfer(db, handoff_id=row.id, staff_id=52, to_agent_id=53, note="请您接", now=T0, cipher=cipher)
    assert row.agent_id == 53
    assert _actions(db, row.id) == [
        "handoff.queued",
        "handoff.take",
        "handoff.note",
        "handoff.transfer",
        "handoff.take",
        "handoff.transfer",
    ]


def test_close_asks_for_a_rating_and_low_rating_creates_a_follow_up(
    db: Session, cipher: FieldCipher, redis_client: redis.Redis
) -> None:
    row = _ask(db, cipher, "o-c1")
    console.take(db, handoff_id=row.id, staff_id=61, now=T0, redis=redis_client)
    db.commit()
    console.close(
        db,
        handoff_id=row.id,
        staff_id=61,
        disposition="resolved",
        summary="已告知进度 13800138000",
        now=T0 + dt.timedelta(minutes=5),
        cipher=cipher,
        redis=redis_client,
    )
    db.commit()
    assert row.status == "closed" and row.disposition == "resolved"
    assert "13800138000" not in console.read_close_summary(row, cipher=cipher)  # masked, then encrypted
    assert not redis_client.sismember(AGENT_OWNED_KEY, conversation_digest(CH, "o-c1"))
    [question] = [m for m in messages.history(db, row.id) if m.direction == "system"]
    assert "1到5" in messages.read_text(question, cipher=cipher) and question.delivery == "pending"
    assert open_handoff(db, channel=CH, user_id="o-c1") is None  # back to the bot
    assert customer.rate(
        db, channel=CH, user_id="o-c1", score=2, now=T0 + dt.timedelta(minutes=6), cipher=cipher
    )
    assert row.rating == 2
    assert not customer.rate(
        db, channel=CH, user_id="o-c1", score=5, now=T0 + dt.timedelta(minutes=7), cipher=cipher
    )  # once
    [follow] = queue.work_items(db, now=T0 + dt.timedelta(minutes=7))
    assert follow.reason == "follow_up" and follow.skill_group == "complaints"
    assert open_handoff(db, channel=CH, user_id="o-c1") is None  # the follow-up does not silence the bot


def test_rating_outside_the_window_is_not_taken(db: Session, cipher: FieldCipher) -> None:
    row = _ask(db, cipher, "o-c2")
    console.take(db, handoff_id=row.id, staff_id=62, now=T0)
    console.close(
        db, handoff_id=row.id, staff_id=62, disposition="resolved", summary="", now=T0, cipher=cipher
    )
    assert not customer.rate(
        db, channel=CH, user_id="o-c2", score=5, now=T0 + dt.timedelta(days=2), cipher=cipher
    )
    assert row.rating is None


def test_cancel_while_queued_goes_back_to_the_bot(db: Session, cipher: FieldCipher) -> None:
    row = _ask(db, cipher, "o-x1")
    assert customer.cancel_by_customer(db, channel=CH, user_id="o-x1", now=T0) is row
    assert (row.status, row.disposition) == ("closed", "cancelled")
    assert open_handoff(db, channel=CH, user_id="o-x1") is None
    job = jobs.get_job(db, kind=queue.SLA_KIND, key=f"{row.id}:breach")
    assert job is not None and job.state == "cancelled"
    assert _actions(db, row.id) == ["handoff.queued", "handoff.cancel"]


def test_the_customers_side_of_the_state_changes_is_audited(db: Session, cipher: FieldCipher) -> None:
    row = _ask(db, cipher, "o-au1")
    assert _ask(db, cipher, "o-au1", "asked") is row          # asked again: the same request, nothing new
    assert _ask(db, cipher, "o-au1", "urgent") is row         # hurt while waiting: moves up
    assert row.priority == queue.PRIORITY_URGENT
    assert _ask(db, cipher, "o-au1", "complaint") is row      # not higher than urgent: no change
    assert _actions(db, row.id) == ["handoff.queued", "handoff.priority_raised"]
    item = _ask(db, cipher, "o-au1", "callback")
    assert item is not row and _actions(db, item.id) == ["handoff.work_item"]
    purposes = db.scalars(select(AuditRecord.purpose).where(AuditRecord.object_type == "handoff",
                                                            AuditRecord.object_id == str(row.id))
                          .order_by(AuditRecord.seq)).all()
    assert purposes == ["asked", "urgent"]


def test_agent_reads_only_chats_queued_for_their_groups_or_assigned__a_02(
    db: Session, cipher: FieldCipher, redis_client: redis.Redis
) -> None:
    from backend.staff.deps import StaffPrincipal

    agent = StaffPrincipal(id=71, username="a71", role="agent", session_id=1)
    other = StaffPrincipal(id=72, username="a72", role="agent", session_id=2)
    boss = StaffPrincipal(id=73, username="s73", role="supervisor", session_id=3)
    officer = StaffPrincipal(id=74, username="c74", role="claims_officer", session_id=4)
    agents.set_capacity(db, 71, 3, now=T0, groups=["claims"])
    general = _ask(db, cipher, "o-p1")
    claims = _ask(db, cipher, "o-p2", flow="claim_report")
    assert not console.can_read(db, agent, general) and console.can_read(db, agent, claims)
    assert console.can_read(db, boss, general) and not console.can_read(db, officer, claims)
    console.take(db, handoff_id=general.id, staff_id=72, now=T0)
    assert console.can_read(db, other, general) and not console.can_read(db, agent, general)
    general.escalated = True
    assert not console.can_read(db, agent, general)  # taken: only its agent (and supervisors)


def test_events_are_not_published_when_the_transaction_rolls_back(
    db: Session, cipher: FieldCipher, redis_client: redis.Redis
) -> None:
    row = _ask(db, cipher, "o-rb")
    db.commit()
    console.take(db, handoff_id=row.id, staff_id=81, now=T0, redis=redis_client)
    db.rollback()
    assert events.read_after(redis_client, "0-0")[0] == []
    assert db.get(HandoffRequest, row.id).status == "queued"  # type: ignore[union-attr]
    # (this row's messages: the webhook tests commit through the shared engine, as the service does)
    assert db.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == row.id)).all() == []
