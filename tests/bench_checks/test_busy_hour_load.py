"""The offered load of the busy-hour benchmark (tests/bench/busy_hour.py): arrivals and handling times."""

from __future__ import annotations

import random
import statistics

import pytest

from tests.bench.busy_hour import Profile, arrival_times, lognormal, percentile, pick_reason


def test_the_hour_holds_exactly_600_with_a_third_in_the_peak_quarter() -> None:
    profile = Profile()
    times = arrival_times(random.Random(7), profile)
    counted = [t - profile.warmup_s for t, c in times if c]
    assert len(counted) == 600
    assert all(0 <= t < profile.hour_s for t in counted)
    assert times == sorted(times)
    in_peak = sum(1 for t in counted if profile.peak_start_s <= t < profile.peak_start_s + profile.peak_len_s)
    # 15 min at 1.5× against 45 min at 1×: a third of the hour (binomial spread about ±12).
    assert 160 <= in_peak <= 240
    # Rate in the peak is about 1.5× the rate in the other 45 minutes.
    ratio = (in_peak / 15) / ((600 - in_peak) / 45)
    assert 1.2 < ratio < 1.9


def test_warm_up_and_cool_down_load_agents_but_are_not_counted() -> None:
    profile = Profile()
    times = arrival_times(random.Random(3), profile)
    early = [t for t, c in times if not c and t < profile.warmup_s]
    late = [t for t, c in times if not c and t >= profile.warmup_s + profile.hour_s]
    # off-peak rate 600/67.5 per minute: about 178 in the 20-minute warm-up, 133 in the cool-down.
    assert 130 <= len(early) <= 230
    assert 90 <= len(late) <= 180
    assert profile.off_peak_rate * 60 == pytest.approx(600 / 67.5)


def test_a_flat_profile_spreads_evenly() -> None:
    profile = Profile(peak_factor=1.0)
    counted = [t - profile.warmup_s for t, c in arrival_times(random.Random(11), profile) if c]
    halves = sum(1 for t in counted if t < 1800)
    assert 255 <= halves <= 345


def test_handling_times_are_lognormal_with_a_six_minute_mean() -> None:
    rng = random.Random(5)
    draws = [lognormal(rng, 360.0, 0.8) for _ in range(40_000)]
    assert statistics.fmean(draws) == pytest.approx(360.0, rel=0.03)
    assert statistics.median(draws) < 300  # skewed: most chats shorter than the mean
    assert percentile(draws, 0.99) > 1200  # a long tail


def test_reasons_and_percentiles() -> None:
    rng = random.Random(9)
    reasons = [pick_reason(rng) for _ in range(5000)]
    assert 0.55 < reasons.count("asked") / 5000 < 0.65
    assert reasons.count("urgent") > 0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([5.0], 0.9) == 5.0
