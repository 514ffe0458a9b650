"""Benchmark: deadline computations per second vs a trivial ``date + timedelta`` loop (same run).

python tests/bench/bench_deadlines.py [N]
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time

from backend.calendar.service import WorkingCalendar
from config.settings import CONFIG_DIR


def main(n: int = 200_000) -> int:
    t0 = time.perf_counter()
    cal = WorkingCalendar.load(CONFIG_DIR / "holidays.yaml")
    load_s = time.perf_counter() - t0
    rng = random.Random(1)
    starts = [dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 3)) for _ in range(n)]
    counts = [rng.choice((3, 7, 15, 30)) for _ in range(n)]
    t0 = time.perf_counter()
    for s, k in zip(starts, counts, strict=True):
        cal.add_working_days(s, k)
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s, k in zip(starts, counts, strict=True):
        s + dt.timedelta(days=k)
    trivial = time.perf_counter() - t0
    rate, base = n / ours, n / trivial
    print(f"calendar load: {load_s * 1000:.0f} ms")
    print(f"add_working_days: {rate:,.0f}/s   date+timedelta: {base:,.0f}/s")
    print(f"ratio: {ours / trivial:.1f}x the trivial loop's time")
    print("target >= 100,000/s:", "OK" if rate >= 100_000 else "MISSED")
    return 0 if rate >= 100_000 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000))
