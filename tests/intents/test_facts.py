"""Prediction.facts: what the dialogue needs beyond the contract's slots (issue 11)."""

from __future__ import annotations

from datetime import datetime

import pytest

from intents import NLU, MessageFacts

NOW = datetime.fromisoformat("2026-11-21T10:00:00+08:00")


@pytest.mark.parametrize(("text", "facts"), [
    ("十级伤残赔多少", {"disability_grade": 10}),
    ("我妈摔了之后评定是九级伤残 伤残金是怎么算的", {"disability_grade": 9}),
    ("伤残等级评了3级", {"disability_grade": 3}),
    ("一級傷殘是全額賠付嗎", {"disability_grade": 1}),
    ("今年已经住了150天还能领多少", {"days_used_this_year": 150}),
    # NOW is lunar 2026-10-13: 初三 = 农历十月初三 = 11-11; 农历三月初五 = 04-21 (lunar 3-01 = 04-17)
    ("阿嬷初三在祠堂门口跋倒", {"lunar_date": True, "lunar_gregorian": "2026-11-11"}),
    ("农历三月初五摔倒的", {"lunar_date": True, "lunar_gregorian": "2026-04-21"}),
    ("住了快一百天能领三千吗", {"approximate": True}),
    ("一千左右能赔吗", {"approximate": True}),
    ("最近3天都没人接电话", {}),  # 最近 = lately, not "about"
    ("预约3号上门", {}),
    ("阿公走了 是跌倒后没几天走的 我们想申请赔偿", {"death": True}),
    ("我父亲坐大巴出了车祸 人没抢救过来", {"death": True}),
    ("坐大巴出事走了赔多少", {}),  # a question about the benefit: nobody died
    ("我妈摔倒了起不来 流好多血 怎么办啊", {"emergency": True}),
    ("阿公跋倒 叫唔醒 要不要叫救护车", {"emergency": True}),
    ("不是我爸 是我老伴", {"corrected": True}),
    ("我妈昨天摔倒住院了", {}),
])
def test_facts(nlu: NLU, text: str, facts: dict[str, object]) -> None:
    p = nlu.predict(text, now=NOW)
    assert p.facts.to_json() == facts
    assert "disability_grade" not in p.slots and "death" not in p.slots


def test_a_lunar_day_gives_no_solar_date(nlu: NLU) -> None:
    """The dialogue asks 农历还是阳历 instead of storing a wrong date."""
    p = nlu.predict("阿嬷初三跋倒", now=NOW)
    assert p.facts.lunar_date and "date" not in p.slots


def test_empty_message_has_no_facts(nlu: NLU) -> None:
    assert nlu.predict("", now=NOW).facts == MessageFacts()


@pytest.mark.parametrize(("text", "slots"), [
    ("住了快一百天能领三千吗", {"amount": 3000, "days": 100}),
    ("住院一百多天 能拿到五千四吗", {"amount": 5400, "days": 100}),
    ("一千左右能赔吗", {"amount": 1000}),
    ("住院20天左右", {"days": 20}),  # 左右 after days is no money
])
def test_figures_said_in_words_give_days_and_amount(nlu: NLU, text: str, slots: dict[str, object]) -> None:
    """The dialogue answers 住了快一百天能领三千吗 from ``days`` and ``amount``; ``approximate`` says the
    figures are estimates (快, 左右, 多)."""
    p = nlu.predict(text, now=NOW)
    assert p.slots == slots
    assert p.facts.approximate
