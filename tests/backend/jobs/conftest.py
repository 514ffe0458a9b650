"""Fixtures of the job-queue tests: a settable clock, a registry with test kinds, an executor; and for
the tests with real worker processes, a fresh committed database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine

from backend.db import make_engine
from backend.hooks import JobContext, JobKind
from backend.jobs.registry import Registry, discover
from backend.jobs.runner import Executor
from backend.migrate import upgrade_to_head
from backend.runtime import Runtime
from backend.worker import job_context


@dataclass
class Clock:
    now: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC))

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(runtime: Runtime) -> Clock:
    c = Clock()
    runtime.clock = c
    return c


@pytest.fixture
def fired() -> list[str]:
    return []


@pytest.fixture
def registry(fired: list[str]) -> Registry:
    reg = discover()
    reg.add(JobKind(name="test.fire", handler=lambda ctx, s, row: fired.append(row.key)))
    return reg


@pytest.fixture
def ctx(runtime: Runtime, clock: Clock) -> JobContext:
    return job_context(runtime)


@pytest.fixture
def executor(ctx: JobContext, registry: Registry) -> Executor:
    return Executor(ctx, registry)


@pytest.fixture
def live_engine(live_url: str) -> Iterator[Engine]:
    engine = make_engine(live_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()
