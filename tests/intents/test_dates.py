"""Relative dates with a part of the day, Teochew day words and weekdays (issue 11): the date slot is the
calendar day the words name. NOW is Thursday 2026-12-03."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from intents import NLU

NOW = datetime.fromisoformat("2026-12-03T10:00:00+08:00")


@pytest.mark.parametrize(("text", "day"), [
    # this morning / tonight = today (only in a report: 今早开门吗 is no date)
    ("我妈今早在家跋倒了", "2026-12-03"),
    ("阿嬷今朝在厝跋倒", "2026-12-03"),
    ("我爸今天早上在菜市场摔倒", "2026-12-03"),
    ("阿公今暝洗浴跋倒", "2026-12-03"),
    ("阿嬷头先在厝跋倒", "2026-12-03"),
    # yesterday evening / night
    ("我妈昨晚起夜摔倒了", "2026-12-02"),
    ("阿嬷昨夜落床跋倒", "2026-12-02"),
    ("阿嬷昨暝跋倒", "2026-12-02"),
    ("阿公昨晡日跋倒", "2026-12-02"),
    # the day before yesterday, its evening, and the day before that
    ("我爸前晚在家摔倒", "2026-12-01"),
    ("阿公前暝跋倒 脚肿", "2026-12-01"),
    ("阿公前日跋倒", "2026-12-01"),
    ("我妈前天晚上摔倒住院了", "2026-12-01"),
    ("我妈大前天摔倒了", "2026-11-30"),
    ("阿嬷三天前晚上跋倒", "2026-11-30"),  # 三天前 + 晚上, not 前晚
    # weekdays: the most recent past one; 上礼拜六 = Saturday of last week
    ("我妈上礼拜六晚上摔倒了", "2026-11-28"),
    ("我妈礼拜六晚上摔倒了", "2026-11-28"),
    ("我妈礼拜天摔倒了", "2026-11-29"),
    ("阿嬷礼拜日跋倒", "2026-11-29"),
    ("我爸星期天在家摔倒", "2026-11-29"),
    ("我妈周三摔倒了", "2026-12-02"),
    ("阿嬷拜六下晡跋倒", "2026-11-28"),       # Teochew 拜六 = 礼拜六
    ("阿公拜日去市场跋倒", "2026-11-29"),
    ("阿嬷昨昏跋倒", "2026-12-02"),           # Minnan 昨昏 = yesterday
    ("阿公今仔日早起跋倒", "2026-12-03"),
    # two day words: the past one is the accident (今天 is when the message is written)
    ("今天来报 我爸昨天摔倒的", "2026-12-02"),
])
def test_a_part_of_the_day_gives_its_calendar_day(nlu: NLU, text: str, day: str) -> None:
    norm = nlu.normalizer(text)
    assert nlu.slot_extractor.read(norm, NOW.date(), "claim_report").slots.get("date") == day


@pytest.mark.parametrize("text", ["今早开门吗", "今晚有人接电话吗", "头先打电话无人接"])
def test_today_words_outside_a_report_are_no_date(nlu: NLU, text: str) -> None:
    norm = nlu.normalizer(text)
    assert "date" not in nlu.slot_extractor.read(norm, NOW.date(), "contact_info").slots


def test_end_to_end_report_with_a_part_of_the_day(nlu: NLU) -> None:
    p = nlu.predict("阿嬷前晚在厝跋倒 脚骨断了", now=NOW)
    assert p.intent == "claim_report"
    assert p.slots == {"date": "2026-12-01", "accident_type": "fall", "relation": "grandmother"}


@pytest.mark.parametrize(("text", "now", "day"), [
    # solar terms people date by: 清明 (4/5 April) and 冬至 = 冬节 (21/22 December), the latest not after
    # today (published days: 清明 2025-04-04, 2026-04-05; 冬至 2025-12-21, 2026-12-22)
    ("阿嬷清明去拜墓跋倒", "2026-12-03", "2026-04-05"),
    ("阿公今年清明彼日跋倒", "2025-06-01", "2025-04-04"),
    ("阮阿爸冬节去山顶拜公妈跋倒", "2026-12-03", "2025-12-21"),  # this year's 冬至 is still to come
    ("阮阿爸冬节去山顶拜公妈跋倒", "2026-12-28", "2026-12-22"),
    ("阿嬷去年冬至跋倒", "2026-12-28", "2025-12-21"),
    ("阿嬷去年国庆跋倒", "2026-12-03", "2025-10-01"),
])
def test_solar_terms_and_last_year_festivals_give_their_day(nlu: NLU, text: str, now: str, day: str) -> None:
    norm = nlu.normalizer(text)
    assert nlu.slot_extractor.read(norm, date.fromisoformat(now), "claim_report").slots.get("date") == day


def test_the_seventh_month_half_is_the_lunar_festival(nlu: NLU) -> None:
    p = nlu.predict("阮阿妈七月半施孤炊粿烫着脚", now=NOW)
    assert p.facts.lunar_date and str(p.facts.lunar_gregorian) == "2026-08-27"  # 农历七月十五
    assert "date" not in p.slots


@pytest.mark.parametrize("text", ["我爸在火车站的楼梯上滑倒了", "阿嬷在地铁站跌倒", "阿公在公交站等车跋倒"])
def test_a_station_is_a_place_not_a_ride(nlu: NLU, text: str) -> None:
    p = nlu.predict(text, now=NOW)
    assert p.slots.get("accident_type") == "fall" and "transport" not in p.slots


@pytest.mark.parametrize(("text", "day"), [
    ("阮老婆早上煮饭被滚水烫到脚", "2026-12-03"),   # a part of the day alone in a report: today
    ("阿公下午在田头跋倒", "2026-12-03"),
    ("礼拜二早上跋倒", "2026-12-01"),               # the weekday named wins
    ("昨天下午被车撞", "2026-12-02"),
    ("1号上午跌倒", "2026-12-01"),
])
def test_a_part_of_the_day_alone_is_today_in_a_report(nlu: NLU, text: str, day: str) -> None:
    norm = nlu.normalizer(text)
    assert nlu.slot_extractor.read(norm, NOW.date(), "claim_report").slots.get("date") == day


@pytest.mark.parametrize("text", ["上个月摔倒 早上去复查", "每天早上都去散步"])
def test_a_part_of_the_day_with_another_time_or_a_habit_is_no_day(nlu: NLU, text: str) -> None:
    norm = nlu.normalizer(text)
    assert "date" not in nlu.slot_extractor.read(norm, NOW.date(), "claim_report").slots
