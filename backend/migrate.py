"""Bring the database schema to the newest Alembic revision (run by the app and admin commands)."""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None, *, cipher: object | None = None) -> Config:
    """An Alembic config pointing at our migrations; with an engine, it migrates that engine.

    ``cipher`` (the runtime's FieldCipher): migrations that encrypt existing rows use it.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if cipher is not None:
        cfg.attributes["cipher"] = cipher
    if engine is not None:
        cfg.attributes["engine"] = engine
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


# Any fixed number: the PostgreSQL advisory lock that serialises migrations across processes.
_MIGRATION_LOCK = 7_140_514


def upgrade_to_head(engine: Engine, *, cipher: object | None = None) -> None:
    """Apply every pending migration to ``engine``'s database (one process at a time); ``cipher``
    encrypts what a migration encrypts (the settings' keyring when not given)."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            command.upgrade(alembic_config(engine, cipher=cipher), "head")
            return
        # SQLite answers "database is locked" to a second migrating process: take a file lock.
        with open(f"{database}.migrate-lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                command.upgrade(alembic_config(engine, cipher=cipher), "head")
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine, cipher=cipher), "head")
        return
    # The API and the worker start together: the first takes the lock and migrates, the second
    # waits, then finds nothing left to do.
    with engine.connect() as lock_conn:
        lock_conn.exec_driver_sql("SET LOCAL statement_timeout = 0")  # waiting may take a while
        lock_conn.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATION_LOCK})")
        try:
            command.upgrade(alembic_config(engine, cipher=cipher), "head")
        finally:
            lock_conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK})")
            lock_conn.commit()
