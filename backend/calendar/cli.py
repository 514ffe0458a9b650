"""``python -m backend calendar reload|status``: reload holidays, recompute provisional deadlines."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from backend.calendar.service import SHANGHAI, CalendarFileError, WorkingCalendar
from backend.calendar.startup import missing_year_warnings
from backend.runtime import Runtime
from backend.startup import recompute_calendar_data


def _reload(_args: argparse.Namespace, runtime: Runtime) -> int:
    try:
        calendar = WorkingCalendar.load(runtime.settings.holidays_file)
    except CalendarFileError as exc:
        print(f"节假日文件有误 / holidays file invalid: {exc}")
        return 1
    runtime.calendar = calendar
    changed = recompute_calendar_data(runtime.sessions, calendar)  # the hooks the domains registered
    summary = ", ".join(f"{count} {hook.unit}" for hook, count in changed)
    print(f"已重新计算暂定期限 / recomputed provisional deadlines: {summary}")
    for warning in missing_year_warnings(calendar, today=dt.datetime.now(SHANGHAI).date()):
        print(f"警告 / warning: {warning}")
    print("运行中的服务需重启才会使用新的节假日数据 / restart running services to use the new data")
    return 0


def _status(_args: argparse.Namespace, runtime: Runtime) -> int:
    calendar = WorkingCalendar.load(runtime.settings.holidays_file)
    today = dt.datetime.now(SHANGHAI).date()
    print("已知年份 / known years:", ", ".join(str(y) for y in sorted(calendar.known_years)))
    missing = calendar.missing_years(range(today.year, today.year + 2))
    print("缺少数据 / missing:", ", ".join(str(y) for y in missing) or "无 / none")
    return 1 if missing else 0


def register(subparsers: Any) -> None:
    """Add the ``calendar`` command."""
    cal = subparsers.add_parser("calendar", help="working-day calendar (holidays)")
    sub = cal.add_subparsers(dest="calendar_command", required=True)
    sub.add_parser(
        "reload", help="reload config/holidays.yaml and recompute provisional deadlines"
    ).set_defaults(handler=_reload)
    sub.add_parser("status", help="show which years have holiday data").set_defaults(handler=_status)
