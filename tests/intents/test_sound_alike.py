"""Voice input writes Teochew 跋倒 ("fell") with characters that sound alike (拔倒, 八倒, 扒倒, 拔落):
they read as a fall, and the same characters elsewhere (拔牙, 八点, 拔了) do not (issue 11)."""

from __future__ import annotations

from datetime import datetime

import pytest

from intents import NLU

NOW = datetime.fromisoformat("2026-12-03T10:00:00+08:00")


@pytest.mark.parametrize("text", [
    "我妈拔倒了", "阿嬷在厝八倒 脚骨断了", "阿公扒倒住院", "阿嬷叭倒", "阿嬷跋落楼梯", "我爸拔落床",
    "阿公扒落来 头壳撞着", "阿嬷拔伤脚", "阿公拔一跤", "我妈甩倒了", "阿嬷初八八倒",
])
def test_sound_alikes_of_the_fall_word_are_a_fall(nlu: NLU, text: str) -> None:
    assert nlu.predict(text, now=NOW).slots.get("accident_type") == "fall"


@pytest.mark.parametrize("text", [
    "我去拔牙", "拔了一颗牙能赔吗", "八点开门吗", "早上八点到医院", "房间七零八落", "拔草", "初八开门吗",
    "扒了两口饭", "甩了他",
])
def test_the_same_characters_elsewhere_are_no_accident(nlu: NLU, text: str) -> None:
    p = nlu.predict(text, now=NOW)
    assert "accident_type" not in p.slots
    assert "摔" not in p.normalized


def test_lunar_day_before_a_sound_alike_survives(nlu: NLU) -> None:
    """初八八倒: 初八 is the day, the second 八倒 the fall."""
    p = nlu.predict("阿嬷初八八倒", now=NOW)
    assert p.normalized == "奶奶初八摔倒" and p.facts.lunar_date
