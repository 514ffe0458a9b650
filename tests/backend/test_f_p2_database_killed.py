"""F-P2: PostgreSQL killed mid-transaction leaves no partial claim rows, and a client retry with the
same idempotency key gives exactly one claim. Runs on its own throwaway cluster (it kills it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError

from backend.claims.models import Claim, ClaimEvent, ClaimMaterial
from backend.claims.service import report_claim
from backend.db import make_engine, make_sessionmaker, session_scope
from backend.model_registry import metadata
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from tests.backend.claims.support import calendar, report_kwargs
from tests.conftest import TEST_AUDIT_KEY
from tests.support.servers import PostgresServer, start_postgres


@pytest.fixture
def own_postgres() -> Iterator[tuple[PostgresServer, Engine]]:
    server = start_postgres()
    engine = make_engine(server.url, connect_timeout_s=2)
    metadata.create_all(engine)
    with engine.connect() as conn:  # the test cluster runs with synchronous_commit=off: persist now
        conn.exec_driver_sql("CHECKPOINT")
    yield server, engine
    engine.dispose()
    server.stop()


def _counts(engine: Engine) -> tuple[int, int, int]:
    with make_sessionmaker(engine, audit_key=TEST_AUDIT_KEY)() as s:
        return (s.scalar(select(func.count()).select_from(Claim)) or 0,
                s.scalar(select(func.count()).select_from(ClaimEvent)) or 0,
                s.scalar(select(func.count()).select_from(ClaimMaterial)) or 0)


def test_f_p2_kill_postgres_mid_transaction(own_postgres: tuple[PostgresServer, Engine],
                                            cipher: FieldCipher, catalog: ProductCatalog) -> None:
    server, engine = own_postgres
    if server.datadir is None:
        pytest.fail("this test needs a throwaway cluster it may kill (unset TEST_DATABASE_URL)")
    sessions = make_sessionmaker(engine, audit_key=TEST_AUDIT_KEY)
    kwargs = report_kwargs(idempotency_key="client-retry-1")

    with pytest.raises(DBAPIError), session_scope(sessions) as s:
        report_claim(s, cipher=cipher, catalog=catalog, calendar=calendar(), **kwargs)
        s.flush()  # rows are written inside the open transaction...
        server.kill_and_restart()  # ...when the server dies
    assert _counts(engine) == (0, 0, 0)  # nothing half-written (pool_pre_ping reconnects)

    for _ in range(2):  # the client retries, twice, with the same key
        with session_scope(sessions) as s:
            claim = report_claim(s, cipher=cipher, catalog=catalog, calendar=calendar(), **kwargs)
            case_no = claim.case_no
    claims, events, materials = _counts(engine)
    assert claims == 1 and events >= 1 and materials >= 1
    with sessions() as s:
        assert s.scalars(select(Claim.case_no)).all() == [case_no]
