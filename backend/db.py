"""Database plumbing: the declarative base, column types, engine and session factories."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

# The largest values of INTEGER (ids, versions) and BIGINT (amounts in fen) columns: anything larger
# must be refused at the edge (422), never overflow deep in the database driver.
MAX_INTEGER = 2**31 - 1
MAX_BIGINT = 2**63 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


log = logging.getLogger(__name__)


class Base(DeclarativeBase):
    """Base of every model; constraint names are deterministic so migrations match."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def make_engine(
    url: str,
    *,
    statement_timeout_ms: int = 5000,
    idle_in_transaction_timeout_ms: int = 10000,
    connect_timeout_s: float = 3.0,
    pool_size: int = 10,
) -> Engine:
    """An engine with safe defaults: pre-ping, timeouts on PostgreSQL, WAL and FKs on SQLite."""
    # hide_parameters: a database error's text never carries the statement's parameters (catalogue D-02)
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": connect_timeout_s * 5}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
            # SAVEPOINTs and nested transactions behave as on PostgreSQL (SQLAlchemy's recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock at once (waiting up to the busy timeout): a transaction
            # that reads and then writes cannot fail with "database is locked" half-way.
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql"):
        options = (
            f"-c statement_timeout={statement_timeout_ms} "
            f"-c idle_in_transaction_session_timeout={idle_in_transaction_timeout_ms} "
            "-c timezone=UTC"
        )
        kwargs["connect_args"] = {"connect_timeout": max(1, int(connect_timeout_s)), "options": options}
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = pool_size
        kwargs["pool_timeout"] = connect_timeout_s
    return create_engine(url, **kwargs)


# Where a session carries the audit chain's HMAC key (``Session.info``): the key comes from the
# settings through the session factory, never from the database (``backend.audit.service``).
AUDIT_KEY_INFO = "audit_chain_key"


def make_sessionmaker(engine: Engine, *, audit_key: bytes | None = None) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit, carrying the audit chain key."""
    info = {AUDIT_KEY_INFO: audit_key} if audit_key is not None else {}
    return sessionmaker(bind=engine, expire_on_commit=False, info=info)


# SQLite has one writer at a time: the threads of one process queue here for it instead of all
# polling the database file's lock (whose busy handler sleeps up to 100 ms between tries).
_sqlite_write_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def sqlite_write_lock(engine: Engine) -> threading.Lock | None:
    """The lock the threads of this process take before writing to this SQLite database (the same for
    :func:`session_scope`, the webhook's turns and the worker); None for other databases."""
    if engine.dialect.name != "sqlite":
        return None
    return _sqlite_write_locks.setdefault(engine, threading.Lock())


def begin_write(session: Session) -> None:
    """On SQLite, begin the session's transaction by taking the write lock (waiting up to the busy
    timeout), so that a read followed by a write cannot fail half-way; elsewhere nothing."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={"sqlite_immediate": True})


STRICT_LOOP_ENV = "BACKEND_STRICT_EVENT_LOOP"  # set for the service processes the tests start


def _refuse_in_event_loop() -> None:
    """The write lock is a thread lock: waiting for it in an event loop's thread stops every request
    of that loop, and deadlocks it when the holder's request needs the loop to end (a sync route's
    session dependency is closed through the loop). Async code writes from the thread pool. Under
    the tests this is an error; in service it is logged (the wait may still end) and the lock taken."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    problem = "session_scope(write=True) on SQLite inside an event loop: run it in the thread pool"
    if os.environ.get(STRICT_LOOP_ENV):
        raise RuntimeError(problem)
    log.error(problem)


@contextmanager
def session_scope(factory: sessionmaker[Session], *, write: bool = False) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error.

    ``write=True`` on SQLite takes the write lock when the transaction begins (for a transaction
    that reads before it writes while other processes write too), one thread of the process at a
    time; elsewhere it changes nothing.
    """
    session = factory()
    bind = session.get_bind()
    lock = None
    if write and isinstance(bind, Engine):
        lock = sqlite_write_lock(bind)
    if lock is not None:
        _refuse_in_event_loop()
        lock.acquire()
    try:
        if lock is not None:
            begin_write(session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if lock is not None:
            lock.release()


@contextmanager
def read_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for a request that only reads. On PostgreSQL its statements run outside a transaction
    (autocommit): no BEGIN and no COMMIT round trip. Under READ COMMITTED, PostgreSQL's level here,
    each statement of a transaction sees its own snapshot anyway, so the reads see what they would
    have seen. Elsewhere (SQLite, where a transaction holds one snapshot, or sessions bound to a
    connection already in a transaction, as in the tests) it is :func:`session_scope`. Nothing may be
    written through it."""
    session = factory()
    bind = session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":  # a Connection: already in one
        session.close()
        with session_scope(factory) as s:
            yield s
        return
    try:
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session
    finally:
        session.close()
