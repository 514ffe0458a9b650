"""The Alembic migrations produce exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url

from backend.db import make_engine
from backend.migrate import upgrade_to_head
from backend.model_registry import metadata
from backend.security.crypto import FieldCipher
from tests.conftest import TEST_AUDIT_KEY
from tests.support.servers import PostgresServer


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, metadata))


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'migr.sqlite3'}")
        yield engine
        engine.dispose()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = make_url(server.url)
    name = f"migr_{uuid.uuid4().hex[:10]}"
    dsn = f"host={url.host} port={url.port} user={url.username} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_migrations_match_models(fresh_engine: Engine) -> None:
    upgrade_to_head(fresh_engine)
    assert _diff(fresh_engine) == []
    tables = set(inspect(fresh_engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_migrations_are_idempotent(fresh_engine: Engine) -> None:
    upgrade_to_head(fresh_engine)
    upgrade_to_head(fresh_engine)  # a second run (every start-up does this) changes nothing
    assert _diff(fresh_engine) == []


def test_empty_database_differs_from_models(fresh_engine: Engine) -> None:
    """The comparison itself can fail: an unmigrated database shows every table missing."""
    assert len(_diff(fresh_engine)) >= len(metadata.tables)


def test_concurrent_start_ups_migrate_once(fresh_engine: Engine) -> None:
    """The API and the worker start together: both upgrade, neither fails, the schema is right."""
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            upgrade_to_head(fresh_engine)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _diff(fresh_engine) == []


def test_a04_migrated_audit_log_refuses_update_and_delete(fresh_engine: Engine) -> None:
    """The triggers that make the audit log append-only come with the migrations, not only create_all."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from backend.audit.service import record_event
    from backend.db import make_sessionmaker, session_scope

    upgrade_to_head(fresh_engine)
    with session_scope(make_sessionmaker(fresh_engine, audit_key=TEST_AUDIT_KEY)) as s:
        record_event(s, actor="test", action="login")
    for statement in ("UPDATE audit_records SET actor = 'mallory'", "DELETE FROM audit_records"):
        with pytest.raises(DBAPIError, match="append-only"), fresh_engine.begin() as conn:
            conn.execute(text(statement))
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_records")).scalar_one() == "test"


def test_d01_migration_encrypts_existing_chat_texts(fresh_engine: Engine) -> None:
    """Rows written before chat texts were encrypted: revision 0003 encrypts them and drops the clear
    columns (downgrading decrypts them again)."""
    from alembic import command
    from sqlalchemy import text

    from backend.conversations.turn_models import PURPOSE_REPLY_TEXT, PURPOSE_USER_TEXT
    from backend.handoff.models import PURPOSE_SUMMARY
    from backend.migrate import alembic_config
    from tests.conftest import TEST_KEY

    cipher = FieldCipher.from_config(keys_json=json.dumps({"k1": TEST_KEY}), active_key_id="k1",
                                     blind_index_key="test-blind-index-key-0123456789")
    command.upgrade(alembic_config(fresh_engine), "0002")
    said, answer = "我腿摔断了住院，要投诉", "好的，已转人工"
    with fresh_engine.begin() as conn:
        for i in range(3):
            conn.execute(text(
                "INSERT INTO conversation_turns (channel, user_id, msg_key, at, kind, user_text, intent, "
                "confidence, slots, flow, step, reply_text, degraded) VALUES ('official_account', :u, :m, "
                ":at, 'text', :t, NULL, NULL, '{}', NULL, NULL, :r, false)"),
                {"u": f"o-old-{i}", "m": f"m-old-{i}", "at": dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                 "t": said if i else "", "r": answer})
        conn.execute(text(
            "INSERT INTO handoff_requests (channel, user_id, reason, status, flow, summary, created_at, "
            "updated_at) VALUES ('official_account', 'o-old-0', 'complaint', 'queued', NULL, :s, :at, :at)"),
            {"s": said + "，我姓陈，家住峡山", "at": dt.datetime(2026, 3, 1, tzinfo=dt.UTC)})
    upgrade_to_head(fresh_engine, cipher=cipher)
    assert _diff(fresh_engine) == []
    with fresh_engine.connect() as conn:
        turns = conn.execute(text(
            "SELECT user_text_enc, reply_text_enc FROM conversation_turns ORDER BY id")).all()
        handoff = conn.execute(text("SELECT summary_enc, summary_snippet FROM handoff_requests")).one()
    assert turns[0][0] is None  # an empty text stays empty
    assert [cipher.decrypt(t, purpose=PURPOSE_USER_TEXT) for t, _ in turns[1:]] == [said, said]
    assert {cipher.decrypt(r, purpose=PURPOSE_REPLY_TEXT) for _, r in turns} == {answer}
    assert cipher.decrypt(handoff[0], purpose=PURPOSE_SUMMARY) == said + "，我姓陈，家住峡山"
    assert handoff[1] == "我腿摔断了住院，要投诉，我姓陈，…"  # 16 characters
    command.downgrade(alembic_config(fresh_engine, cipher=cipher), "0002")
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT user_text FROM conversation_turns ORDER BY id")).scalars().all() == [
            "", said, said]
