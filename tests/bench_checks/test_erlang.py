"""The Erlang C function of the staffing benchmark (tests/bench/erlang.py) against known values."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from tests.bench.erlang import agents_for, asa_s, erlang_b, erlang_c, service_level, slots_for


def test_erlang_b_and_c_small_exact_values() -> None:
    # A = 2 Erlangs, 3 servers: B = (8/6)/(1 + 2 + 2 + 8/6) = 4/19, C = 4/9 (worked by hand).
    assert erlang_b(3, 2.0) == pytest.approx(float(Fraction(4, 19)), rel=1e-12)
    assert erlang_c(3, 2.0) == pytest.approx(float(Fraction(4, 9)), rel=1e-12)
    # M/M/1: the probability of waiting is the utilisation.
    assert erlang_c(1, 0.7) == pytest.approx(0.7, rel=1e-12)


def test_erlang_c_textbook_call_centre_example() -> None:
    # The classic worked example: 100 calls in 30 minutes, 180 s each (A = 10 Erlangs), 14 agents,
    # 20-second target: P(wait) 17.41 %, service level 88.8 %, ASA about 8 s.
    assert erlang_c(14, 10.0) == pytest.approx(0.1741, abs=5e-5)
    assert service_level(14, 10.0, 180, 20) == pytest.approx(0.888, abs=1e-3)
    assert asa_s(14, 10.0, 180) == pytest.approx(7.84, abs=0.01)


def test_unstable_queue_always_waits() -> None:
    assert erlang_c(60, 60.0) == 1.0
    assert service_level(59, 60.0, 360, 180) == 0.0
    assert math.isinf(asa_s(60, 60.0, 360))


def test_staffing_600_chats_an_hour_three_at_a_time() -> None:
    # 600 chats/h × 6 min = 60 Erlangs: 65 slots reach 95 % within 3 minutes, i.e. 22 agents at 3 chats
    # (66 slots: 98.3 %, ASA 21 s, occupancy 91 %), the figure of the console notes.
    assert slots_for(chats_per_hour=600, aht_s=360, within_s=180, target=0.95) == 65
    staffing = agents_for(chats_per_hour=600, aht_s=360, chats_per_agent=3, within_s=180, target=0.95)
    assert (staffing.agents, staffing.slots) == (22, 66)
    assert staffing.service_level == pytest.approx(0.983, abs=5e-4)
    assert staffing.asa_s == pytest.approx(20.7, abs=0.1)
    assert staffing.occupancy == pytest.approx(60 / 66)
    # 21 agents (63 slots) miss the target.
    assert service_level(63, 60.0, 360, 180) < 0.95


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        erlang_b(-1, 2.0)
    with pytest.raises(ValueError):
        agents_for(chats_per_hour=600, aht_s=360, chats_per_agent=0, within_s=180, target=0.95)
