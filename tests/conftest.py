"""Shared fixtures: real PostgreSQL and SQLite, a real Redis, a runtime and an API client.

Every test that asks for ``db`` runs twice, on SQLite and on PostgreSQL, inside a transaction that
is rolled back at the end (commits inside the test only release a savepoint).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.db import AUDIT_KEY_INFO, make_engine
from backend.products.service import load_catalog
from backend.redis_conn import RedisHandle
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from config.settings import CONFIG_DIR, Settings
from tests.support.servers import PostgresServer, RedisServer, start_postgres, start_redis

TEST_KEY = "dGVzdC1maWVsZC1rZXktMzItYnl0ZXMtbG9uZy4uLi4="  # 32 bytes
# The audit chain's HMAC key in tests: the settings' local default, as the runtime would use it.
TEST_AUDIT_KEY = Settings(mode="local").audit.chain_key.get_secret_value().encode()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop()


def _create_schema(engine: Engine) -> None:
    from backend.model_registry import metadata

    metadata.drop_all(engine)
    metadata.create_all(engine)


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    _create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_engine(postgres_server: PostgresServer) -> Iterator[Engine]:
    # A test holds one outer transaction for its whole run (rolled back at the end), idle while live
    # processes start or a browser acts: the service's idle-in-transaction limit (10 s) would kill it
    # on a loaded machine (IdleInTransactionSessionTimeout at teardown). The service keeps its limit.
    engine = make_engine(postgres_server.url, idle_in_transaction_timeout_ms=0)
    _create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The engine of one backend; tests using it run once per backend."""
    name = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    result: Engine = request.getfixturevalue(name)
    return result


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    if trans.is_active:
        trans.rollback()
    conn.close()


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    """A session factory bound to the test's outer transaction (commits become savepoints)."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                        expire_on_commit=False, info={AUDIT_KEY_INFO: TEST_AUDIT_KEY})


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> Iterator[Session]:
    session = sessions()
    yield session
    session.close()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher.from_config(
        keys_json=json.dumps({"k1": TEST_KEY}), active_key_id="k1",
        blind_index_key="test-blind-index-key-0123456789",
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # No demo accounts (their tests turn them on): other tests count staff and audit rows.
    return Settings(mode="local", var_dir=tmp_path / "var", run_worker=False, demo_accounts=False)


@pytest.fixture
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog(products_dir=CONFIG_DIR / "products", default_id="chaonan-elderly-accident")


@pytest.fixture(scope="session")
def nlu():  # type: ignore[no-untyped-def]
    """The real NLU model, loaded once for the whole run."""
    from intents import NLU

    return NLU.load()


@pytest.fixture
def runtime(settings: Settings, connection: Connection, sessions: sessionmaker[Session],
            redis_server: RedisServer, redis_client: redis.Redis, cipher: FieldCipher,
            catalog, request: pytest.FixtureRequest) -> Runtime:  # type: ignore[no-untyped-def]
    """A runtime over the test transaction and the test Redis (the NLU model shared by all tests)."""
    rt = Runtime(
        settings=settings, engine=connection.engine, sessions=sessions,
        redis_handle=RedisHandle(url=redis_server.url), redis=redis_client,
        cipher=cipher, catalog=catalog,
    )
    rt.nlu = request.getfixturevalue("nlu")
    return rt


@pytest.fixture
def client(runtime: Runtime, settings: Settings) -> Iterator[TestClient]:
    """An API client over the app whose runtime is the test's (rolled back afterwards)."""
    from backend.app import create_app

    def factory(_settings: Settings) -> Runtime:
        return runtime

    app = create_app(settings, runtime_factory=factory)
    # Keep the test's connection and Redis open when the app shuts down.
    runtime.close = lambda: None  # type: ignore[method-assign]
    with TestClient(app, raise_server_exceptions=False) as tc:
        tc.event_hooks["response"].append(_m02_no_session_key_in_response)
        yield tc


def _m02_no_session_key_in_response(response: httpx.Response) -> None:
    """M-02: the mini-program session key never leaves the server (every response of the suite)."""
    from tests.support.fake_wechat import CANARY_SESSION_KEY

    body = response.read()
    for text in (body, str(response.headers).encode()):
        assert CANARY_SESSION_KEY.encode() not in text, "session_key in a response (M-02)"


# --- D-02: a canary over every log record of the whole suite -----------------------------------
import logging  # noqa: E402

from backend.logs import quiet_noisy_loggers  # noqa: E402
from tests.support.pii import PiiCanary  # noqa: E402


@pytest.fixture(autouse=True)
def d02_no_private_data_in_logs() -> Iterator[None]:
    """Fails any test during which a log record carried an ID number, a phone or a bank card."""
    quiet_noisy_loggers()  # as in production: SQL parameters and request URLs are never logged
    canary = PiiCanary()
    from tests.support.fake_wechat import CANARY_SESSION_KEY

    canary.secrets = (CANARY_SESSION_KEY,)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(canary)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(canary)
        root.setLevel(old_level)
    assert not canary.hits, f"private data in log records: {canary.hits}"
    assert not canary.secret_hits, f"session_key in a log line (M-02): {canary.secret_hits}"
