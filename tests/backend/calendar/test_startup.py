"""Start-up: the calendar is loaded, missing years warn in the log and /readyz (still 200)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.calendar.service import SHANGHAI, WorkingCalendar
from backend.calendar.startup import missing_year_warnings, startup
from backend.runtime import Runtime
from tests.backend.claims.support import HOLIDAYS_2027, calendar


def test_warning_names_the_missing_year() -> None:
    warnings = missing_year_warnings(calendar(), today=dt.date(2026, 12, 1))
    assert len(warnings) == 1 and "2027" in warnings[0] and "暂定" in warnings[0]
    assert missing_year_warnings(calendar(), today=dt.date(2025, 6, 1)) == []


def test_readyz_shows_calendar_warnings_and_stays_200(client: TestClient, runtime: Runtime) -> None:
    assert isinstance(runtime.calendar, WorkingCalendar)
    expected = missing_year_warnings(runtime.calendar, today=dt.datetime.now(SHANGHAI).date())
    r = client.get("/readyz")
    assert r.status_code == 200
    everything = [w for provider in runtime.readiness_warnings for w in provider()]
    assert r.json()["warnings"] == everything
    assert all(w in everything for w in expected)


def test_startup_logs_warning_and_loaded_year_clears_it(
    runtime: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    today = dt.datetime.now(SHANGHAI).date()
    missing = calendar().missing_years(range(today.year, today.year + 2))
    with caplog.at_level(logging.WARNING, logger="backend.calendar.startup"):
        startup(runtime)
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == len(missing)
    path = tmp_path / "holidays.yaml"
    path.write_text(HOLIDAYS_2027, encoding="utf-8")
    runtime.calendar = WorkingCalendar.load(path)  # what a restart with the new file gives
    provider = runtime.readiness_warnings[-1]
    assert all("2027" not in w for w in provider())
