"""Finding due jobs costs the rows taken, not the rows due (``tests/bench/bench_notices_due.py``).

On PostgreSQL a claim must read the due ``pending`` rows in claim order from the index
``ix_jobs_state_due_at_id`` (migration 0011) and stop after its limit: no sequential scan of the job
table and no sort of every due row, whatever their number (the old ``OR`` of pending and lapsed rows
did both for every claim, so the time to claim N rows grew with N²).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from backend.db import make_engine, make_sessionmaker, session_scope
from backend.jobs import service as jobs
from backend.jobs.runner import claim_due
from backend.migrate import upgrade_to_head
from tests.support.live import fresh_database
from tests.support.servers import PostgresServer

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def pg_engine(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[Engine]:
    with fresh_database("postgresql", tmp_path, postgres_server) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        yield engine
        engine.dispose()


def test_a_claim_reads_its_rows_from_the_index_in_order_not_a_scan_and_sort_of_every_due_row(
        pg_engine: Engine) -> None:
    sessions = make_sessionmaker(pg_engine)
    with session_scope(sessions) as s:
        jobs.schedule_many(s, kind="test.due", items=[(str(i), NOW - dt.timedelta(seconds=i % 7), None)
                                                      for i in range(20_000)], replace=False, now=NOW)
    with pg_engine.begin() as conn:
        conn.execute(text("ANALYZE jobs"))
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("UPDATE JOBS"):
            seen.append((statement, parameters))

    event.listen(pg_engine, "before_cursor_execute", capture)
    try:
        with session_scope(sessions) as s:
            first = claim_due(s, now=NOW, limit=100, lease_s=60)
    finally:
        event.remove(pg_engine, "before_cursor_execute", capture)
    assert len(first) == 100
    # Oldest due first (due_at, then id): the rows due 6 s ago, lowest ids.
    assert sorted(c.id for c in first) == list(range(7, 701, 7))
    plans = []
    for statement, parameters in seen:
        with pg_engine.connect() as conn:
            plans.append("\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters)))
    assert all("Seq Scan" not in p for p in plans), plans
    assert len(plans) == 2, plans  # rows whose lease passed, then the pending ones
    assert "ix_jobs_state_due_at_id" in plans[-1] and "Sort" not in plans[-1], plans[-1]
