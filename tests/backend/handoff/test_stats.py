"""Dashboard figures from known rows: first-response percentiles, the 3-minute share, buckets,
at-risk list, next-response times, satisfaction and reasons."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from backend.handoff import stats
from backend.handoff.stats import Facts

NOW = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)  # 11:00 in Shantou
START = stats.day_start(NOW)


def at(minutes_ago: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes_ago)


def row(i: int, queued_min_ago: float, frt_s: float | None = None, *, status: str = "closed",
        reason: str = "asked", **kw: object) -> Facts:
    q = at(queued_min_ago)
    first = q + dt.timedelta(seconds=frt_s) if frt_s is not None else None
    return Facts(id=i, reason=reason, status=status, priority=3, skill_group="general",
                 agent_id=7 if first else None, queued_at=q, first_response_at=first, **kw)  # type: ignore[arg-type]


def test_day_starts_at_local_midnight() -> None:
    assert stats.day_start(NOW) == dt.datetime(2026, 12, 4, 16, 0, tzinfo=dt.UTC)


def test_percentiles_interpolate() -> None:
    assert stats.percentile([], 0.5) is None
    assert stats.percentile([10, 20, 30, 40], 0.5) == 25
    assert stats.percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9) == pytest.approx(91)


def test_first_response_and_three_minute_share_count_only_known_outcomes() -> None:
    rows = [
        row(1, 60, 30), row(2, 50, 90), row(3, 40, 150), row(4, 30, 400),  # answered: 3 within, 1 late
        row(5, 10, None, status="queued"),    # waiting 10 min: a miss already
        row(6, 1, None, status="queued"),     # waiting 1 min: not known yet
        row(7, 20, None, closed_at=at(19)),   # left after 60 s unanswered: not counted
    ]
    f = stats.first_response_figures(rows, NOW)
    assert f["first_response_p50_s"] == 120
    assert f["first_response_p90_s"] == pytest.approx(150 + 0.7 * 250)
    assert f["known"] == 5 and f["within_3min"] == 3
    assert f["within_3min_share"] == pytest.approx(0.6)


def test_sla_colours() -> None:
    assert stats.sla_of(119) == "ok"
    assert stats.sla_of(120) == "warn"
    assert stats.sla_of(180) == "breach"
    assert stats.sla_of(5, escalated=True) == "breach"


def test_at_risk_lists_waits_over_two_minutes_longest_first() -> None:
    rows = [
        row(1, 1, None, status="queued"),                               # 60 s: fine
        row(2, 2.5, None, status="queued"),                             # 150 s: warn
        row(3, 5, None, status="queued"),                               # 300 s: breach
        row(4, 30, 60, status="agent", waiting_since=at(2.2)),          # next response owed 132 s
        row(5, 30, 60, status="agent"),                                 # answered, nothing owed
        row(6, 0.5, None, status="queued", escalated=True),             # escalated: shown red
    ]
    risky = stats.at_risk(rows, NOW)
    assert [(r["id"], r["sla"]) for r in risky] == [(3, "breach"), (2, "warn"), (4, "warn"), (6, "breach")]


def test_buckets_of_fifteen_minutes() -> None:
    rows = [row(1, 14, 30), row(2, 16, 200), row(3, 17, 100), row(4, 5, None, status="queued"),
            row(5, 1, None, status="queued")]
    start = NOW - dt.timedelta(minutes=30)
    got = stats.buckets(rows, start=start, now=NOW)
    assert len(got) == 2
    assert got[0]["start"] == start and got[0]["handoffs"] == 2 and got[0]["answered"] == 2
    assert got[0]["within_3min"] == 1 and got[0]["frt_p50_s"] == 150
    assert got[0]["frt_p90_s"] == pytest.approx(190) and got[0]["within_3min_share"] == 0.5
    assert got[1]["handoffs"] == 3 and got[1]["answered"] == 1 and got[1]["within_3min"] == 1
    # row 4 waited 5 minutes unanswered (a miss); row 5 queued a minute ago is not yet known
    assert got[1]["within_3min_share"] == 0.5 and got[1]["frt_p90_s"] == 30


def test_a_bucket_without_known_outcomes_has_no_share_or_percentiles() -> None:
    got = stats.buckets([row(1, 1, None, status="queued")], start=NOW - dt.timedelta(minutes=15), now=NOW)
    assert got[0]["handoffs"] == 1 and got[0]["within_3min_share"] is None
    assert got[0]["frt_p50_s"] is None and got[0]["frt_p90_s"] is None


def test_next_response_times_start_at_the_first_unanswered_customer_message() -> None:
    t0 = at(30)
    msgs = [
        (1, "customer", t0),                                  # before the first answer: FRT, not NRT
        (1, "agent", t0 + dt.timedelta(seconds=50)),
        (1, "customer", t0 + dt.timedelta(seconds=100)),
        (1, "customer", t0 + dt.timedelta(seconds=110)),      # same run: clock already running
        (1, "note", t0 + dt.timedelta(seconds=120)),          # a note answers nobody
        (1, "agent", t0 + dt.timedelta(seconds=160)),         # 60 s
        (2, "agent", t0),
        (2, "customer", t0 + dt.timedelta(seconds=10)),
        (2, "agent", t0 + dt.timedelta(seconds=30)),          # 20 s
    ]
    assert stats.next_response_times(msgs) == [60, 20]


def test_figures_put_it_together() -> None:
    today = [
        row(1, 60, 30, rating=5, reason="asked"), row(2, 50, 240, rating=2, reason="complaint",
                                                      breached_at=at(47), escalated=True),
        row(3, 3, None, status="queued", reason="urgent"), row(4, 1, None, status="queued"),
    ]
    open_rows = [f for f in today if f.status != "closed"]
    out = stats.figures(today=today, open_rows=open_rows, now=NOW, start=START, next_response_s=[30, 90, 60],
                        intents=Counter({"claim_report": 3, "human": 1}))
    assert out["queue_length"] == 2 and out["oldest_wait_s"] == 180
    assert out["handoffs_today"] == 4 and out["breaches_today"] == 1
    assert out["satisfaction_avg"] == 3.5 and out["satisfaction_count"] == 2
    assert out["next_response_p50_s"] == 60
    assert out["reasons"][0] == {"key": "asked", "count": 2}
    assert out["top_intents"][0] == {"key": "claim_report", "count": 3}
    assert [r["id"] for r in out["at_risk"]] == [3]
    assert out["within_3min_share"] == pytest.approx(1 / 3)  # 30 s yes; 240 s no; 180 s waiting: no
    assert len(out["buckets"]) == 44  # 11 hours since local midnight
