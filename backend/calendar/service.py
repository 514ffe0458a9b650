"""Chinese working days: weekends and statutory holidays off, official make-up days (调休) on.

Data: the ``chinesecalendar`` package (years it knows) plus ``config/holidays.yaml`` for years it
does not know yet (merged into the package's data: the file adds, it never removes). A year with no
data at all is counted by weekends only and every deadline that reaches into it is *provisional*.

At load the calendar precomputes, over ``first_year..last_year``, the ordinal of every working day
and a prefix count, so :meth:`WorkingCalendar.add_working_days` is two list look-ups (O(1)).

Counting rule: the day of the event is day 0; "within N working days" is the N-th working day
strictly after that day. Times are stored in UTC and converted to Asia/Shanghai to find the day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_FIRST_YEAR = 2020
DEFAULT_LAST_YEAR = 2035


class CalendarFileError(Exception):
    """The holidays file is unreadable or malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """A deadline date (Asia/Shanghai) and whether it rests on estimated (weekend-only) data."""

    date: dt.date
    provisional: bool


def local_date(at: dt.datetime) -> dt.date:
    """The Asia/Shanghai calendar date of an aware datetime."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) datetime")
    return at.astimezone(SHANGHAI).date()


def chinese_date(day: dt.date) -> str:
    """A date as customers read it: ``2026年3月1日``."""
    return f"{day.year}年{day.month}月{day.day}日"


def end_of_local_day(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` ends in Asia/Shanghai, in UTC (a deadline's cut-off)."""
    nxt = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=SHANGHAI)
    return nxt.astimezone(dt.UTC)


def _as_date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CalendarFileError(f"{where}: {value!r} is not a date (YYYY-MM-DD)")


def _expand(entries: Any, where: str) -> list[dt.date]:
    """Dates from a list of ``date`` / ``{from: date, to: date}`` / ``[date, date]`` entries."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise CalendarFileError(f"{where}: expected a list")
    out: list[dt.date] = []
    for i, entry in enumerate(entries):
        here = f"{where}[{i}]"
        if isinstance(entry, dict):
            if "from" not in entry:
                raise CalendarFileError(f"{here}: a range needs 'from' (and optionally 'to')")
            start = _as_date(entry["from"], here)
            end = _as_date(entry.get("to", entry["from"]), here)
        elif isinstance(entry, list) and len(entry) == 2:
            start, end = _as_date(entry[0], here), _as_date(entry[1], here)
        else:
            start = end = _as_date(entry, here)
        if end < start:
            raise CalendarFileError(f"{here}: range ends before it starts")
        out.extend(start + dt.timedelta(days=k) for k in range((end - start).days + 1))
    return out


def read_holidays_file(path: Path | None) -> tuple[set[dt.date], set[dt.date], set[int]]:
    """Holidays, make-up working days and the years the file covers; a missing file adds nothing."""
    if path is None or not path.exists():
        return set(), set(), set()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, ValueError) as exc:  # yaml raises ValueError for 2027-13-01
        raise CalendarFileError(f"{path.name}: not a date or unreadable: {exc}") from exc
    years = data.get("years") if isinstance(data, dict) else None
    if years is None:
        return set(), set(), set()
    if not isinstance(years, dict):
        raise CalendarFileError(f"{path.name}: 'years' must map a year to its holidays and workdays")
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    covered: set[int] = set()
    for year, spec in years.items():
        if not isinstance(year, int) or not isinstance(spec, dict):
            raise CalendarFileError(f"{path.name}: years.{year}: expected a year with a mapping")
        unknown = set(spec) - {"holidays", "workdays"}
        if unknown:
            raise CalendarFileError(f"{path.name}: years.{year}: unknown keys {sorted(unknown)}")
        hs = _expand(spec.get("holidays"), f"{path.name}: years.{year}.holidays")
        ws = _expand(spec.get("workdays"), f"{path.name}: years.{year}.workdays")
        both = set(hs) & set(ws)
        if both:
            raise CalendarFileError(f"{path.name}: years.{year}: {min(both)} is both a holiday and a workday")
        holidays.update(hs)
        workdays.update(ws)
        covered.add(year)
    return holidays, workdays, covered


class WorkingCalendar:
    """Working-day arithmetic over a precomputed range; outside it, a slower day-by-day walk."""

    def __init__(
        self,
        *,
        holidays: Iterable[dt.date],
        workdays: Iterable[dt.date],
        known_years: Iterable[int],
        first_year: int = DEFAULT_FIRST_YEAR,
        last_year: int = DEFAULT_LAST_YEAR,
    ) -> None:
        self._holidays = frozenset(holidays)
        self._workdays = frozenset(workdays)
        self._known = frozenset(known_years)
        self.first_year, self.last_year = first_year, last_year
        self._o0 = dt.date(first_year, 1, 1).toordinal()
        o_end = dt.date(last_year, 12, 31).toordinal()
        size = o_end - self._o0 + 1
        # prefix[i] = number of working days among range days 0..i-1; work[k] = ordinal of the k-th.
        prefix = [0] * (size + 1)
        work: list[int] = []
        count = 0
        for i in range(size):
            if self._compute_working(dt.date.fromordinal(self._o0 + i)):
                work.append(self._o0 + i)
                count += 1
            prefix[i + 1] = count
        self._prefix = prefix
        self._work = work
        # The first ordinal of the first unknown year at or after each year (for the provisional flag).
        self._unknown_from: dict[int, int] = {}
        nxt = dt.date.max.toordinal() + 1
        for year in range(last_year + 1, first_year - 1, -1):
            if year not in self._known:
                nxt = dt.date(year, 1, 1).toordinal()
            self._unknown_from[year] = nxt

    @classmethod
    def load(
        cls,
        holidays_file: Path | None,
        *,
        first_year: int = DEFAULT_FIRST_YEAR,
        last_year: int = DEFAULT_LAST_YEAR,
    ) -> WorkingCalendar:
        """The package's data merged with the holidays file (which may be absent)."""
        extra_h, extra_w, covered = read_holidays_file(holidays_file)
        pkg_h = set(chinese_calendar.holidays)
        pkg_w = set(chinese_calendar.workdays)
        pkg_years = {d.year for d in pkg_h} | {d.year for d in pkg_w}
        clash = (extra_h & pkg_w) | (extra_w & pkg_h)
        if clash:
            raise CalendarFileError(f"{min(clash)} contradicts the chinesecalendar package data")
        return cls(
            holidays=pkg_h | extra_h,
            workdays=pkg_w | extra_w,
            known_years=pkg_years | covered,
            first_year=first_year,
            last_year=last_year,
        )

    def _compute_working(self, day: dt.date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        return day.weekday() < 5

    @property
    def known_years(self) -> frozenset[int]:
        """Years with holiday data (from the package or the holidays file)."""
        return self._known

    def missing_years(self, between: Iterable[int]) -> list[int]:
        """The years among ``between`` (e.g. ``range(2026, 2028)``) without holiday data."""
        return sorted(y for y in set(between) if y not in self._known)

    def is_working_day(self, day: dt.date) -> bool:
        """True on a Chinese working day (weekend-only estimate in a year without data)."""
        i = day.toordinal() - self._o0
        if 0 <= i < len(self._prefix) - 1:
            return self._prefix[i + 1] != self._prefix[i]
        return self._compute_working(day)

    def is_provisional(self, start: dt.date, end: dt.date) -> bool:
        """True when a count from ``start`` to ``end`` crosses a year without data."""
        if start.year < self.first_year or end.year > self.last_year:
            return any(y not in self._known for y in range(start.year, end.year + 1))
        return end.toordinal() >= self._unknown_from[start.year]

    def add_working_days(self, start: dt.date, n: int) -> Deadline:
        """The ``n``-th working day after ``start`` (``start`` itself is day 0; n=0 gives start)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            return Deadline(start, self.is_provisional(start, start))
        i = start.toordinal() - self._o0
        if 0 <= i < len(self._prefix) - 1:
            k = self._prefix[i + 1] + n - 1
            if k < len(self._work):
                end = dt.date.fromordinal(self._work[k])
                return Deadline(end, end.toordinal() >= self._unknown_from[start.year])
        return self._walk(start, n)

    def _walk(self, start: dt.date, n: int) -> Deadline:
        day, left = start, n
        while left:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return Deadline(day, self.is_provisional(start, day))

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie after ``start`` up to and including ``end`` (0 if end <= start)."""
        if end <= start:
            return 0
        i, j = start.toordinal() - self._o0, end.toordinal() - self._o0
        if i >= 0 and j < len(self._prefix) - 1:
            return self._prefix[j + 1] - self._prefix[i + 1]
        return sum(
            1 for k in range(1, (end - start).days + 1) if self.is_working_day(start + dt.timedelta(days=k))
        )

    def deadline_after(self, at: dt.datetime, n: int) -> Deadline:
        """``n`` working days after the Asia/Shanghai day of the instant ``at``."""
        return self.add_working_days(local_date(at), n)
