"""F-P1 for the staff API: with PostgreSQL down, or a connection killed at COMMIT, a staff write answers
503 in the one error shape and leaves nothing half-written; once the database is back the same
request succeeds. Runs on its own throwaway cluster (it stops it)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from backend.audit.models import AuditRecord
from backend.audit.service import verify_chain
from backend.claims import service as claims_svc
from backend.claims.models import Claim, ClaimEvent
from backend.db import make_engine, make_sessionmaker, session_scope
from backend.model_registry import metadata
from backend.products.service import ProductCatalog
from backend.redis_conn import RedisHandle
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from config.settings import Settings
from tests.backend.claims.support import calendar, make_id, report_kwargs
from tests.backend.staff.helpers import PASSWORD, Clock, assert_error, code_at, make_staff
from tests.conftest import TEST_AUDIT_KEY
from tests.support.servers import PostgresServer, RedisServer, _as_postgres, _pg_bin, start_postgres


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[tuple[PostgresServer, Engine]]:
    server = start_postgres()
    engine = make_engine(server.url, connect_timeout_s=1)
    metadata.create_all(engine)
    yield server, engine
    engine.dispose()
    server.stop()


@dataclass
class Setup:
    server: PostgresServer
    engine: Engine
    sessions: sessionmaker[Session]
    client: TestClient
    headers: dict[str, str]
    claim_id: int


def _stop(server: PostgresServer, engine: Engine) -> None:
    """Stop the server abruptly, after persisting what was committed (the cluster runs with
    synchronous_commit=off, which would otherwise lose the last commits, e.g. the login's)."""
    assert server.datadir is not None
    with engine.connect() as conn:
        conn.exec_driver_sql("CHECKPOINT")
    subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(server.datadir), "-m", "immediate", "stop"]),
                   capture_output=True, check=True)


@pytest.fixture
def setup(own_postgres: tuple[PostgresServer, Engine], settings: Settings, redis_server: RedisServer,
          redis_client: redis.Redis, cipher: FieldCipher, catalog: ProductCatalog) -> Iterator[Setup]:
    server, engine = own_postgres
    if server.datadir is None:
        pytest.fail("this test needs a throwaway cluster it may stop (unset TEST_DATABASE_URL)")
    from backend.app import create_app

    sessions = make_sessionmaker(engine, audit_key=TEST_AUDIT_KEY)
    clock = Clock()
    name = f"officer{time.monotonic_ns() % 10**9}"
    with session_scope(sessions) as s:
        secret = make_staff(s, cipher, name, "claims_officer").totp_secret
        claim = claims_svc.report_claim(s, cipher=cipher, catalog=catalog, calendar=calendar(),
                                        **report_kwargs(insured_id_number=make_id()))
        claim_id = claim.id
    rt = Runtime(settings=settings, engine=engine, sessions=sessions, redis=redis_client, cipher=cipher,
                 redis_handle=RedisHandle(url=redis_server.url), catalog=catalog)
    rt.clock = clock
    rt.close = lambda: None  # type: ignore[method-assign]
    app = create_app(settings, runtime_factory=lambda _s: rt)
    with TestClient(app, raise_server_exceptions=False) as client:
        clock.advance(31)
        login = {"username": name, "password": PASSWORD, "totp_code": code_at(secret, clock.now)}
        r = client.post("/staff/api/auth/login", json=login)
        assert r.status_code == 200, r.text
        yield Setup(server, engine, sessions, client, {"Authorization": f"Bearer {r.json()['token']}"},
                    claim_id)


def _snapshot(sessions: sessionmaker[Session], claim_id: int) -> tuple[Any, ...]:
    with sessions() as s:
        claim = s.get(Claim, claim_id)
        assert claim is not None
        kinds = tuple(s.scalars(select(ClaimEvent.kind).where(ClaimEvent.claim_id == claim_id)))
        audits = s.scalar(select(func.count()).select_from(AuditRecord))
        return claim.state, claim.version, kinds, audits


MOVE = {"to_state": "materials_pending", "reason": "开始收材料", "expected_version": 1}


def test_f_p1_staff_write_while_database_down_answers_503(setup: Setup) -> None:
    before = _snapshot(setup.sessions, setup.claim_id)
    url = f"/staff/api/claims/{setup.claim_id}/transition"
    _stop(setup.server, setup.engine)
    try:
        started = time.monotonic()
        r = setup.client.post(url, json=MOVE, headers=setup.headers)
        elapsed = time.monotonic() - started
        error = assert_error(r, 503, "service_unavailable")
        assert r.headers["Retry-After"] and elapsed < 5, elapsed
        assert "Traceback" not in r.text and "psycopg" not in error["message"]
        assert_error(setup.client.get(f"/staff/api/claims/{setup.claim_id}", headers=setup.headers), 503,
                     "service_unavailable")
    finally:
        setup.server.start()
    assert _snapshot(setup.sessions, setup.claim_id) == before  # nothing written
    r = setup.client.post(url, json=MOVE, headers=setup.headers)  # the client retries once it is back
    assert r.status_code == 200 and r.json()["state"] == "materials_pending", r.text
    state, version, kinds, _ = _snapshot(setup.sessions, setup.claim_id)
    assert (state, version, kinds.count("transition")) == ("materials_pending", 2, 1)


def test_f_p1_connection_killed_at_commit_leaves_nothing_half_written(setup: Setup) -> None:
    before = _snapshot(setup.sessions, setup.claim_id)
    armed = {"kill": True, "fired": 0}

    def kill_own_backend(session: Session) -> None:
        if not armed["kill"]:
            return
        armed["kill"] = False
        pid = session.connection().execute(text("SELECT pg_backend_pid()")).scalar_one()
        with setup.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()
        armed["fired"] = 1

    event.listen(setup.sessions, "before_commit", kill_own_backend)
    try:
        r = setup.client.post(f"/staff/api/claims/{setup.claim_id}/transition", json=MOVE,
                              headers=setup.headers)
    finally:
        event.remove(setup.sessions, "before_commit", kill_own_backend)
    assert armed["fired"] == 1  # the transition had run and flushed: the kill hit its COMMIT
    assert_error(r, 503, "service_unavailable")
    assert _snapshot(setup.sessions, setup.claim_id) == before  # no state, event or audit row
    with setup.sessions() as s:
        report = verify_chain(s)
        assert report.ok, report
    r = setup.client.post(f"/staff/api/claims/{setup.claim_id}/transition", json=MOVE, headers=setup.headers)
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    state, _, kinds, audits = _snapshot(setup.sessions, setup.claim_id)
    assert state == "materials_pending" and kinds.count("transition") == 1 and audits > before[3]
