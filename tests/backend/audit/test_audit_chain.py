"""A-04: the audit log is append-only and tamper-evident, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import uuid

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from backend.audit.models import AuditChainHead, AuditRecord
from backend.audit.service import (
    GENESIS_HASH,
    chain_key,
    compute_hash,
    list_events,
    record_event,
    verify_chain,
)
from backend.db import AUDIT_KEY_INFO, make_engine, make_sessionmaker
from tests.conftest import TEST_AUDIT_KEY
from tests.support.servers import PostgresServer


def _base(db: Session) -> int:
    """Records already in the chain (SQLite test runs may keep other tests' commits)."""
    return db.scalar(select(func.count()).select_from(AuditRecord)) or 0


def _append_some(db: Session, n: int = 5) -> list[AuditRecord]:
    return [
        record_event(db, actor=f"user{i}", action="read", object_type="claim", object_id=i,
                     ip="10.0.0.1", purpose="处理理赔")
        for i in range(n)
    ]


def test_a04_chain_links_and_hashes(db: Session) -> None:
    base = _base(db)
    records = _append_some(db, 4)
    assert records[0].seq == base + 1
    if base == 0:
        assert records[0].prev_hash == GENESIS_HASH
    for prev, cur in itertools.pairwise(records):
        assert cur.prev_hash == prev.hash and cur.seq == prev.seq + 1
        assert cur.hash == compute_hash(cur, key=chain_key(db))
    report = verify_chain(db)
    assert report.ok and report.checked == base + 4


def test_a04_empty_chain_verifies(db: Session) -> None:
    report = verify_chain(db)
    assert report.ok and report.checked == _base(db)


def test_a04_fields_recorded(db: Session) -> None:
    at = dt.datetime(2026, 3, 2, 1, 2, 3, 456789, tzinfo=dt.UTC)
    rec = record_event(db, actor="alice", action="reveal", object_type="roster_person", object_id="42",
                       field="id_number", purpose="核对身份证号", ip="192.168.1.9", result="ok", at=at)
    db.expire_all()
    row = db.get(AuditRecord, rec.id)
    assert row is not None
    assert (row.actor, row.action, row.object_type, row.object_id, row.field, row.purpose, row.ip,
            row.result, row.at) == ("alice", "reveal", "roster_person", "42", "id_number", "核对身份证号",
                                    "192.168.1.9", "ok", at)
    assert compute_hash(row, key=chain_key(db)) == row.hash  # the hash survives the database round trip
    assert [r.id for r in list_events(db, object_type="roster_person", object_id="42")] == [rec.id]


@pytest.mark.parametrize("statement", [
    "UPDATE audit_records SET actor = 'mallory'",
    "DELETE FROM audit_records",
])
def test_a04_tampering_refused(db: Session, statement: str) -> None:
    base = _base(db)
    _append_some(db, 2)
    db.flush()
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text(statement))
    db.expire_all()
    assert verify_chain(db).ok
    assert db.scalar(select(AuditRecord.actor).where(AuditRecord.seq == base + 1)) == "user0"


def test_a04_truncate_refused_on_postgres(postgres_engine: Engine) -> None:
    """TRUNCATE exists only on PostgreSQL, so this test uses that engine alone (rolled back)."""
    with postgres_engine.connect() as conn:
        outer = conn.begin()
        db = Session(bind=conn, join_transaction_mode="create_savepoint",
                     info={AUDIT_KEY_INFO: TEST_AUDIT_KEY})
        _append_some(db, 1)
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text("TRUNCATE audit_records"))
        db.close()
        outer.rollback()


def _drop_triggers(db: Session) -> None:
    dialect = db.get_bind().dialect.name
    for name in ("audit_records_no_update", "audit_records_no_delete"):
        if dialect == "postgresql":
            db.execute(text(f"DROP TRIGGER {name} ON audit_records"))
        else:
            db.execute(text(f"DROP TRIGGER {name}"))


def test_a04_modification_behind_triggers_detected(db: Session) -> None:
    base = _base(db)
    _append_some(db, 5)
    _drop_triggers(db)  # rolled back with the test transaction
    db.execute(text("UPDATE audit_records SET purpose = '随便看看' WHERE seq = :s"), {"s": base + 3})
    db.expire_all()
    report = verify_chain(db)
    assert not report.ok and report.broken_seq == base + 3 and report.checked == base + 2
    assert "hash" in (report.reason or "")


def test_a04_rehashed_record_breaks_the_next_link(db: Session) -> None:
    records = _append_some(db, 4)
    _drop_triggers(db)
    forged = records[1]
    db.execute(text("UPDATE audit_records SET actor = 'mallory' WHERE id = :i"), {"i": forged.id})
    db.expire_all()
    row = db.get(AuditRecord, forged.id)
    assert row is not None and row.actor == "mallory"
    db.execute(text("UPDATE audit_records SET hash = :h WHERE id = :i"),
               {"h": compute_hash(row, key=chain_key(db)), "i": forged.id})
    db.expire_all()
    report = verify_chain(db)
    assert not report.ok and report.broken_seq == forged.seq + 1 and "link" in (report.reason or "")


def test_a04_deleted_records_detected(db: Session) -> None:
    records = _append_some(db, 5)
    _drop_triggers(db)
    db.execute(text("DELETE FROM audit_records WHERE id = :i"), {"i": records[1].id})
    db.expunge_all()
    report = verify_chain(db)
    assert not report.ok and report.broken_seq == records[2].seq and "missing" in (report.reason or "")


def test_a04_deleted_tail_detected(db: Session) -> None:
    records = _append_some(db, 3)
    _drop_triggers(db)
    db.execute(text("DELETE FROM audit_records WHERE id = :i"), {"i": records[2].id})
    db.expunge_all()
    report = verify_chain(db)
    assert not report.ok and report.checked == records[1].seq and "head" in (report.reason or "")


def test_a04_many_appends_verify(db: Session) -> None:
    base = _base(db)
    for i in range(300):
        record_event(db, actor="bulk", action="read", object_type="complaint", object_id=i)
    report = verify_chain(db, batch_size=64)
    assert report.ok and report.checked == base + 300
    head = db.get(AuditChainHead, 1)
    assert head is not None and head.last_seq == base + 300


def test_a04_concurrent_appends_on_postgres(postgres_server: PostgresServer) -> None:
    """Eight writers committing in parallel on a fresh database: one unbroken chain."""
    from backend.model_registry import metadata

    name = f"audit_conc_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_server.url.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url, pool_size=10)
    try:
        metadata.create_all(engine)
        factory = make_sessionmaker(engine, audit_key=TEST_AUDIT_KEY)
        errors: list[BaseException] = []
        start = threading.Barrier(8)

        def writer(n: int) -> None:
            try:
                start.wait()
                for i in range(25):
                    with factory.begin() as s:
                        record_event(s, actor=f"w{n}", action="read", object_type="claim",
                                     object_id=f"{n}-{i}")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        with factory() as s:
            report = verify_chain(s)
            assert report.ok and report.checked == 200
            assert len(set(s.scalars(select(AuditRecord.object_id)).all())) == 200
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()
