"""Fixtures shared by the backend tests: a settable clock, logged-in staff accounts, and an empty
database that real worker and API processes can share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.runtime import Runtime
from tests.backend.staff.helpers import Clock, Staff
from tests.support.live import fresh_database


@pytest.fixture
def clock(runtime: Runtime) -> Clock:
    c = Clock()
    runtime.clock = c
    return c


@pytest.fixture
def staff(client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> Staff:
    return Staff(client, db, runtime, clock)


@pytest.fixture(params=["sqlite", "postgresql"])
def live_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty committed database that worker processes can share (``tests.support.live``)."""
    pg = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    with fresh_database(request.param, tmp_path, pg) as url:
        yield url
