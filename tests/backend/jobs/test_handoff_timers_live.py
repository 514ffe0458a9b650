"""Restart the worker while a conversation waits: the 2- and 3-minute timers still fire, once.

Real ``python -m backend worker`` processes over a committed database (SQLite and PostgreSQL) and the
suite's Redis. A customer is queued with the real ``request_handoff`` (its SLA timers are job rows).
Worker A runs while the timers are not yet due and is SIGKILLed; worker B fires the 2-minute warning
and is SIGKILLed too, on PostgreSQL in the middle of the 3-minute breach handler (blocked on the audit
chain lock the test holds: its row claimed, its transaction open); then two workers start at once and
the breach fires, once. "Time passes" by moving a timer's due time to now (``_due_now``): the test
does not wait minutes.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
import uuid
from pathlib import Path

import redis
from sqlalchemy import Engine, func, select, text, update

from backend.audit.models import AuditChainHead, AuditRecord
from backend.audit.service import verify_chain
from backend.db import make_sessionmaker, session_scope, utcnow
from backend.handoff import copy, events
from backend.handoff.messages import DELIVER_KIND, read_text
from backend.handoff.models import HandoffMessage, HandoffRequest
from backend.handoff.queue import SLA_KIND
from backend.handoff.service import request_handoff
from backend.jobs import service as jobs
from backend.jobs.models import DONE, OPEN, PENDING, RUNNING, Job
from backend.jobs.registry import PERIODIC_PREFIX
from backend.security.crypto import FieldCipher
from config.settings import Settings
from tests.support.live import spawn, stop, wait_for, worker_env
from tests.support.servers import RedisServer

LEASE_S = 2.0  # a claimed row whose worker died is claimed again after this
POLL_S = 0.2


def _job(engine: Engine, kind: str, key: str) -> Job:
    with make_sessionmaker(engine)() as s:
        row = jobs.get_job(s, kind=kind, key=key)
        assert row is not None, (kind, key)
        return row


def _sla(engine: Engine, handoff_id: int, stage: str) -> Job:
    return _job(engine, SLA_KIND, f"{handoff_id}:{stage}")


def _due_now(engine: Engine, handoff_id: int, stage: str, client: redis.Redis) -> None:
    """Time passes: the timer's minute has come (its row's due time moved to now)."""
    with engine.begin() as conn:
        moved = conn.execute(update(Job).where(Job.kind == SLA_KIND, Job.key == f"{handoff_id}:{stage}",
                                               Job.state == PENDING).values(due_at=utcnow()))
        assert moved.rowcount == 1
    jobs.wake(client)


def _audits(engine: Engine, action: str, handoff_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == action, AuditRecord.object_id == str(handoff_id))) or 0)


def _events(client: redis.Redis, type_: str, handoff_id: int) -> list[dict[str, object]]:
    found, _ = events.read_after(client, "0-0", count=10_000)
    return [e.data for e in found if e.type == type_ and e.data.get("handoff_id") == handoff_id]


def _periodic_ran(engine: Engine) -> bool:
    """A worker is up: it armed its periodic jobs and ran one."""
    with engine.connect() as conn:
        return bool(conn.scalar(select(func.count()).select_from(Job).where(
            Job.kind.startswith(PERIODIC_PREFIX), Job.token >= 1)))


def _waiting_on_audit_lock(engine: Engine) -> bool:
    """PostgreSQL: a worker's transaction waits for the audit chain lock (inside the breach handler)."""
    with engine.connect() as conn:
        return bool(conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE '%audit_chain_head%'")))


def _log(tmp_path: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                     for p in sorted(tmp_path.glob("worker-*.log")))


def test_sla_timers_fire_once_when_the_worker_restarts_while_a_conversation_waits(
        live_url: str, live_engine: Engine, settings: Settings, redis_server: RedisServer,
        redis_client: redis.Redis, tmp_path: Path) -> None:
    pg = live_engine.dialect.name == "postgresql"
    # The workers' settings are local mode's defaults (worker_env drops CS_… variables): the same keys.
    cipher = FieldCipher.from_config(keys_json=settings.crypto.keys.get_secret_value(),
                                     active_key_id=settings.crypto.active_key_id,
                                     blind_index_key=settings.crypto.blind_index_key.get_secret_value())
    sessions = make_sessionmaker(live_engine, audit_key=settings.audit.chain_key.get_secret_value().encode())
    with session_scope(sessions) as s:
        row = request_handoff(s, channel="web", user_id="w-restart", reason="asked",
                              summary="理赔什么时候到账", cipher=cipher)
        hid = row.id
    assert _sla(live_engine, hid, "warn").due_at == row.queued_at + dt.timedelta(minutes=2)
    assert _sla(live_engine, hid, "breach").due_at == row.queued_at + dt.timedelta(minutes=3)

    env = worker_env(database_url=live_url, redis_url=redis_server.url, var_dir=tmp_path / "var",
                     CS_JOBS__STREAM=f"test:{uuid.uuid4().hex[:8]}", CS_JOBS__QUEUE_LEASE_S=str(LEASE_S),
                     CS_JOBS__POLL_INTERVAL_S=str(POLL_S), CS_DEMO_ACCOUNTS="false",
                     # the breach handler is held on a lock below: not cut short by the 5 s default
                     CS_DB__STATEMENT_TIMEOUT_MS="30000")
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        proc = spawn(env, "backend", "worker", log=tmp_path / f"worker-{name}.log")
        procs.append(proc)
        return proc

    try:
        # Worker A runs while the customer waits, before either timer is due; then it is killed.
        a = start("a")
        assert wait_for(lambda: _periodic_ran(live_engine), 60), f"worker A did not start\n{_log(tmp_path)}"
        stop(a, kill=True)
        for stage in ("warn", "breach"):
            job = _sla(live_engine, hid, stage)
            assert (job.state, job.token) == (PENDING, 0), stage

        # Two minutes pass with no worker; worker B starts and fires the warning.
        _due_now(live_engine, hid, "warn", redis_client)
        b = start("b")
        assert wait_for(lambda: _sla(live_engine, hid, "warn").state == DONE, 60), (
            f"the warning did not fire after the restart\n{_log(tmp_path)}")
        assert _sla(live_engine, hid, "breach").state == PENDING

        # The third minute: B dies. On PostgreSQL it dies inside the breach handler, its claim and its
        # transaction open; on SQLite (one writer: the test cannot hold the handler) before it is due.
        if pg:
            with live_engine.connect() as held:
                held.execute(update(AuditChainHead).values(last_seq=AuditChainHead.last_seq))
                _due_now(live_engine, hid, "breach", redis_client)
                assert wait_for(lambda: _waiting_on_audit_lock(live_engine), 30), (
                    f"worker B did not enter the breach handler\n{_log(tmp_path)}")
                breach = _sla(live_engine, hid, "breach")
                assert (breach.state, breach.token) == (RUNNING, 1)
                stop(b, kill=True)
                held.rollback()
        else:
            stop(b, kill=True)
            _due_now(live_engine, hid, "breach", redis_client)

        # Two workers start at once: the breach fires once (on PostgreSQL: claimed again when B's
        # lease has passed, its half-done transaction rolled back), and the call-back offer goes out.
        start("c"), start("d")

        def breach_done() -> bool:
            if _sla(live_engine, hid, "breach").state != DONE:
                return False
            with live_engine.connect() as conn:
                return not conn.scalar(select(func.count()).select_from(Job).where(
                    Job.kind == DELIVER_KIND, Job.state.in_(OPEN)))

        assert wait_for(breach_done, 60), f"the breach did not fire after the restart\n{_log(tmp_path)}"
        # A second run would come from a stale queue message or an expired lease: give both a lease's
        # time and a few polls to show up (a negative check: nothing to poll for).
        time.sleep(LEASE_S + 5 * POLL_S)
        assert all(p.poll() is None for p in procs[2:]), f"a worker died\n{_log(tmp_path)}"
    finally:
        for proc in procs:
            stop(proc)

    breach = _sla(live_engine, hid, "breach")
    if pg:  # claimed by B (token 1), then by C or D after B's lease passed
        assert breach.token == 2 and breach.attempts == 2
    # The 2-minute warning: once.
    assert _audits(live_engine, "handoff.sla_warning", hid) == 1
    assert len(_events(redis_client, "handoff.sla_warning", hid)) == 1
    # The 3-minute breach: once, escalated, the customer offered a call-back once (sent).
    assert _audits(live_engine, "handoff.sla_breach", hid) == 1
    assert [e["kind"] for e in _events(redis_client, "handoff.sla_breach", hid)] == ["first_response"]
    with session_scope(sessions) as s:
        row = s.get(HandoffRequest, hid)
        assert row is not None
        assert row.breached_at is not None and row.escalated and row.status == "queued"
        offers = list(s.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == hid,
                                                             HandoffMessage.direction == "system")))
        assert [read_text(m, cipher=cipher) for m in offers] == [copy.text("handoff_breach_offer")]
        assert offers[0].delivery == "sent"
        assert len(_events(redis_client, "handoff.message", hid)) == 1
        # No job row of the conversation left waiting or running; the audit chain unbroken.
        left = s.execute(select(Job.kind, Job.key, Job.state).where(
            Job.state.in_(OPEN), Job.kind.not_like(PERIODIC_PREFIX + "%"))).all()
        assert left == []
        ours = s.scalars(select(Job).where(Job.kind.in_((SLA_KIND, DELIVER_KIND))))
        states = {j.key: j.state for j in ours}
        assert states == {f"{hid}:warn": DONE, f"{hid}:breach": DONE, str(offers[0].id): DONE}
        report = verify_chain(s)
        assert report.ok, report
