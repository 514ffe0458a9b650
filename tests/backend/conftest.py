"""Fixtures shared by the staff API tests: a settable clock and logged-in staff accounts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.runtime import Runtime
from tests.backend.staff.helpers import Clock, Staff


@pytest.fixture
def clock(runtime: Runtime) -> Clock:
    c = Clock()
    runtime.clock = c
    return c


@pytest.fixture
def staff(client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> Staff:
    return Staff(client, db, runtime, clock)
