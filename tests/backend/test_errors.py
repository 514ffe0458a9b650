"""The one error shape: every failure maps to {"error": {code, message, detail}}, never a trace."""

from __future__ import annotations

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, OperationalError

from backend.errors import NotFound, install_error_handlers


@pytest.fixture
def app_client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/integrity")
    def integrity() -> None:
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key 13812345678"))

    @app.get("/db-down")
    def db_down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    @app.get("/redis-down")
    def redis_down() -> None:
        raise redis.exceptions.TimeoutError("timeout")

    @app.get("/missing")
    def missing() -> None:
        raise NotFound("claim_not_found", "没有找到这个案件")

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("secret internals 44051419530101123X")

    @app.get("/typed/{n}")
    def typed(n: int) -> int:
        return n

    return TestClient(app, raise_server_exceptions=False)


def _error(r):  # type: ignore[no-untyped-def]
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}
    return body["error"]


def test_integrity_error_is_a_conflict_not_an_outage(app_client: TestClient) -> None:
    r = app_client.get("/integrity")
    assert r.status_code == 409 and _error(r)["code"] == "conflict"
    assert "13812345678" not in r.text  # the database's message is never echoed


@pytest.mark.parametrize("path", ["/db-down", "/redis-down"])
def test_outages_are_503_with_retry_after(app_client: TestClient, path: str) -> None:
    r = app_client.get(path)
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert _error(r)["code"] == "service_unavailable" and "稍后" in _error(r)["message"]


def test_domain_errors_and_unexpected_errors(app_client: TestClient) -> None:
    r = app_client.get("/missing")
    assert r.status_code == 404 and _error(r)["message"] == "没有找到这个案件"
    r = app_client.get("/bug")
    assert r.status_code == 500 and _error(r)["code"] == "internal_error"
    assert "secret" not in r.text and "Traceback" not in r.text
    r = app_client.get("/typed/abc")
    assert r.status_code == 422 and _error(r)["code"] == "invalid_request" and "abc" not in r.text
