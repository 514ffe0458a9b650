"""Lunar days (初五, 廿八, 农历十月廿八, 中秋) and the solar day they mean (issue 11).

The date slot stays empty (the contract's convention) and ``facts.lunar_date`` is set, so the dialogue
asks 农历还是阳历; ``facts.lunar_gregorian`` is the solar day the words most likely mean: the most recent
one not after the message."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from intents import NLU
from intents.lunar import read_lunar

NOW = datetime.fromisoformat("2026-12-03T10:00:00+08:00")  # lunar 2026-10-25 (10-01 = 2026-11-09)


@pytest.mark.parametrize(("text", "today", "solar"), [
    # published dates: 春节 2024–2027, 端午 and 中秋 2026
    ("春节", date(2024, 3, 1), date(2024, 2, 10)),
    ("春节", date(2025, 3, 1), date(2025, 1, 29)),
    ("春节", date(2026, 3, 1), date(2026, 2, 17)),
    ("春节", date(2027, 3, 1), date(2027, 2, 6)),
    ("中秋", date(2026, 12, 3), date(2026, 9, 25)),
    ("端午", date(2026, 12, 3), date(2026, 6, 19)),
    ("除夕", date(2026, 3, 1), date(2026, 2, 16)),
    ("正月初一", date(2027, 2, 6), date(2027, 2, 6)),
])
def test_festivals_and_new_year_match_the_published_calendar(text: str, today: date, solar: date) -> None:
    day = read_lunar(text, today)
    assert day is not None and day.solar == solar


@pytest.mark.parametrize(("text", "month", "day", "solar"), [
    ("初五", None, 5, date(2026, 11, 13)),           # this lunar month (10-05)
    ("农历初五", None, 5, date(2026, 11, 13)),
    ("廿八", None, 28, date(2026, 11, 6)),           # 10-28 is still to come: 9-28
    ("农历10月28", 10, 28, date(2025, 12, 17)),       # this year's is to come: last year's
    ("10月初三", 10, 3, date(2026, 11, 11)),
    ("腊月23", 12, 23, date(2026, 2, 10)),
    ("大年初二", 1, 2, date(2026, 2, 18)),
    ("初10", None, 10, date(2026, 11, 18)),
])
def test_lunar_day_resolves_to_the_latest_past_one(text: str, month: int | None, day: int,
                                                   solar: date) -> None:
    found = read_lunar(text, NOW.date())
    assert found is not None
    assert (found.month, found.day, found.solar) == (month, day, solar)


@pytest.mark.parametrize("text", ["10月28号", "11月20号", "住院25日", "今天"])
def test_solar_forms_are_not_lunar(text: str) -> None:
    assert read_lunar(text, NOW.date()) is None


@pytest.mark.parametrize(("text", "solar"), [
    ("阿嬷初五跋倒", "2026-11-13"),
    ("我妈农历初五在家摔倒", "2026-11-13"),
    ("阿嬷廿八跋倒", "2026-11-06"),
    ("农历十月廿八我爸摔倒", "2025-12-17"),
    ("十月初三阿公摔倒了", "2026-11-11"),
    ("阿公中秋那天跋倒", "2026-09-25"),
    ("腊月廿三阿嬷跌倒", "2026-02-10"),
])
def test_message_keeps_the_flag_and_gives_the_solar_day(nlu: NLU, text: str, solar: str) -> None:
    p = nlu.predict(text, now=NOW)
    assert "date" not in p.slots
    assert p.facts.lunar_date
    assert p.facts.lunar_gregorian == solar


@pytest.mark.parametrize(("text", "day"), [
    ("十一月廿号跋倒", "2026-11-20"),        # 廿 with 号 is a solar day
    ("上个月廿八号跋倒", "2026-11-28"),
    ("十月廿八跋倒", "2026-10-28"),          # a month without 农历 or a lunar word: solar, as before
])
def test_nian_with_a_day_word_or_a_month_stays_solar(nlu: NLU, text: str, day: str) -> None:
    p = nlu.predict(text, now=NOW)
    assert p.slots.get("date") == day and not p.facts.lunar_date


def test_nian_before_a_count_is_a_number(nlu: NLU) -> None:
    assert nlu.normalizer("住院廿五日") == "住院25日"
    assert nlu.normalizer("农历十月廿八") == "农历10月28"
    assert nlu.normalizer("阿嬷廿八跋倒") == "奶奶廿八摔倒"


@pytest.mark.parametrize(("text", "solar"), [
    ("中秋前1日", date(2026, 9, 24)),  # 中秋 2026 is 25 September
    ("中秋前两日", date(2026, 9, 23)),
    ("中秋后3天", date(2026, 9, 28)),
    ("中秋", date(2026, 9, 25)),
])
def test_a_day_before_or_after_a_festival(text: str, solar: date) -> None:
    day = read_lunar(text, date(2026, 11, 1))
    assert day is not None and day.solar == solar
