"""Load the working-day calendar at start-up and warn loudly while a needed year has no data."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from backend.calendar.service import SHANGHAI, WorkingCalendar
from backend.runtime import Runtime

log = logging.getLogger(__name__)


def missing_year_warnings(calendar: WorkingCalendar, *, today: dt.date) -> list[str]:
    """Warnings for this year and next (deadlines reach into it) when they lack holiday data."""
    return [
        f"{year} 年节假日数据未加载：涉及 {year} 年的期限按周末估算（暂定）。"
        f"请在 config/holidays.yaml 补充 {year} 年放假安排后重启服务或运行 python -m backend calendar reload"
        for year in calendar.missing_years(range(today.year, today.year + 2))
    ]


def readiness_provider(runtime: Runtime) -> Callable[[], list[str]]:
    """A /readyz warning callable reading the runtime's current calendar and today's date."""

    def provider() -> list[str]:
        return missing_year_warnings(runtime.calendar, today=dt.datetime.now(SHANGHAI).date())

    return provider


def startup(runtime: Runtime) -> None:
    """Load the calendar (``runtime.calendar``), log the missing years, register the readiness warning."""
    for warning in missing_year_warnings(runtime.calendar, today=dt.datetime.now(SHANGHAI).date()):
        log.warning("%s", warning)
    runtime.readiness_warnings.append(readiness_provider(runtime))
