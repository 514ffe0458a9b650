"""Working days: Chinese holidays and make-up days, provisional years, the holidays file."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import chinese_calendar
import pytest

from backend.calendar.service import (
    CalendarFileError,
    WorkingCalendar,
    chinese_date,
    end_of_local_day,
    local_date,
)
from tests.backend.claims.support import HOLIDAYS_2027, calendar


def naive_add(cal: WorkingCalendar, start: dt.date, n: int) -> dt.date:
    day = start
    while n:
        day += dt.timedelta(days=1)
        if cal.is_working_day(day):
            n -= 1
    return day


def test_matches_package_for_known_years() -> None:
    cal = calendar()
    day = dt.date(2020, 1, 1)
    while day.year <= 2026:
        assert cal.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


def test_national_day_2026_and_make_up_days() -> None:
    cal = calendar()
    golden_week = [dt.date(2026, 10, d) for d in range(1, 8)]
    assert all(chinese_calendar.is_holiday(d) for d in golden_week)  # the package's data
    assert not any(cal.is_working_day(d) for d in golden_week)
    make_up = [d for d in chinese_calendar.workdays if d.year == 2026 and d.weekday() >= 5]
    assert make_up and all(cal.is_working_day(d) for d in make_up)
    # From the last day before the holiday, the 1st working day is the first one after it.
    first_after = next(
        d
        for d in (dt.date(2026, 10, 8) + dt.timedelta(k) for k in range(9))
        if chinese_calendar.is_workday(d)
    )
    deadline = cal.add_working_days(dt.date(2026, 9, 30), 1)
    assert deadline.date == first_after and not deadline.provisional
    # 3 working days across the holiday, each counted by the package.
    expected = [
        d
        for d in (dt.date(2026, 10, 1) + dt.timedelta(k) for k in range(30))
        if chinese_calendar.is_workday(d)
    ][:3]
    assert cal.add_working_days(dt.date(2026, 9, 30), 3).date == expected[-1]


def test_fast_path_agrees_with_naive_count() -> None:
    cal = calendar()
    rng = random.Random(7)
    for _ in range(2000):
        start = dt.date(2020, 1, 1) + dt.timedelta(rng.randrange(0, 365 * 7))
        n = rng.randrange(0, 40)
        assert cal.add_working_days(start, n).date == (naive_add(cal, start, n) if n else start)


def test_beyond_precomputed_range_walks() -> None:
    cal = calendar()
    start = dt.date(2035, 12, 28)
    d = cal.add_working_days(start, 10)
    assert d.date == naive_add(cal, start, 10) and d.provisional
    assert cal.add_working_days(dt.date(2019, 12, 30), 3).date == naive_add(cal, dt.date(2019, 12, 30), 3)


def test_year_end_into_2027_is_provisional_weekends_only() -> None:
    cal = calendar()
    assert 2027 in cal.missing_years(range(2026, 2028))
    assert 2026 in cal.known_years and 2027 not in cal.known_years
    d = cal.add_working_days(dt.date(2026, 12, 30), 3)
    # 2026-12-31 (Thu), then 2027-01-01 (Fri, counted: no data), 2027-01-04 (Mon).
    assert d == type(d)(dt.date(2027, 1, 4), True)
    assert not cal.add_working_days(dt.date(2026, 12, 29), 2).provisional  # ends 2026-12-31
    assert cal.add_working_days(dt.date(2027, 3, 1), 0).provisional


def test_holidays_file_adds_2027(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(HOLIDAYS_2027, encoding="utf-8")
    cal = WorkingCalendar.load(path)
    assert 2027 in cal.known_years and cal.missing_years(range(2026, 2028)) == []
    d = cal.add_working_days(dt.date(2026, 12, 30), 3)
    assert d.date == dt.date(2027, 1, 5) and not d.provisional  # 1 January is now a holiday
    assert cal.is_working_day(dt.date(2027, 2, 14))  # Sunday make-up day
    assert not cal.is_working_day(dt.date(2027, 2, 8))


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("years:\n  2027:\n    holidays: [2027-01-04]\n    workdays: [2027-01-04]\n", "both"),
        ("years:\n  2027:\n    holidays: [2027-13-01]\n", "not a date"),
        ("years:\n  2027:\n    holidays: [{from: 2027-02-06, to: 2027-02-01}]\n", "ends before"),
        ("years:\n  2027:\n    feiertage: []\n", "unknown keys"),
        ("years:\n  2026:\n    workdays: [2026-10-01]\n", "contradicts"),
        ("years: [1, 2]\n", "must map"),
    ],
)
def test_bad_holidays_file_is_a_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarFileError, match=fragment):
        WorkingCalendar.load(path)


def test_missing_file_adds_nothing(tmp_path: Path) -> None:
    cal = WorkingCalendar.load(tmp_path / "absent.yaml")
    assert 2027 not in cal.known_years and 2026 in cal.known_years


def test_negative_n_refused() -> None:
    with pytest.raises(ValueError):
        calendar().add_working_days(dt.date(2026, 1, 5), -1)


def test_event_day_in_shanghai_is_day_zero() -> None:
    cal = calendar()
    # 2026-09-30 17:30 UTC is 1 October 01:30 in Shanghai: the holiday, so day 0 is 1 October.
    at = dt.datetime(2026, 9, 30, 17, 30, tzinfo=dt.UTC)
    assert local_date(at) == dt.date(2026, 10, 1)
    assert cal.deadline_after(at, 1) == cal.add_working_days(dt.date(2026, 10, 1), 1)
    assert end_of_local_day(dt.date(2026, 10, 1)) == dt.datetime(2026, 10, 1, 16, tzinfo=dt.UTC)
    with pytest.raises(ValueError):
        local_date(dt.datetime(2026, 1, 1))


def test_working_days_between() -> None:
    cal = calendar()
    a, b = dt.date(2026, 9, 25), dt.date(2026, 10, 20)
    expected = sum(1 for k in range(1, (b - a).days + 1) if chinese_calendar.is_workday(a + dt.timedelta(k)))
    assert cal.working_days_between(a, b) == expected
    assert cal.working_days_between(b, a) == 0


def test_chinese_date_reads_as_customers_write_it() -> None:
    assert chinese_date(dt.date(2026, 3, 1)) == "2026年3月1日"
    assert chinese_date(dt.date(2027, 12, 31)) == "2027年12月31日"
