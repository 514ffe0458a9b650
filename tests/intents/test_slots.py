from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from intents import NLU
from intents.case_numbers import luhn_digit, make_case_number, parse_case_number
from intents.slots import SlotExtractor, id_check_digit, valid_id_number

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "config" / "nlu"
PRODUCT = ROOT / "config" / "products" / "chaonan-elderly-accident.yaml"
NOW = datetime.fromisoformat("2026-11-21T10:00:00+08:00")
PY = sys.executable



VALID_ID = "11010519491231002" + id_check_digit("11010519491231002")


@pytest.mark.parametrize(("text", "slots"), [
    ("我妈昨天在家跋倒了", {"date": "2026-11-20", "accident_type": "fall", "relation": "mother"}),
    ("今天摔倒了", {"date": "2026-11-21", "accident_type": "fall"}),
    ("前天", {"date": "2026-11-19"}),
    ("大前天", {"date": "2026-11-18"}),
    ("上周三", {"date": "2026-11-11"}),
    ("3月5号", {"date": "2026-03-05"}),
    ("三月五日", {"date": "2026-03-05"}),
    ("12月5号", {"date": "2025-12-05"}),
    ("2026-03-05", {"date": "2026-03-05"}),
    ("2026年3月5日", {"date": "2026-03-05"}),
    ("3.5号那天", {"date": "2026-03-05"}),
    ("我的电话是138 1234 5678", {"phone": "13812345678"}),
    ("+86-139-1234-5678", {"phone": "13912345678"}),
    ("3000", {}),
    ("赔了3000", {"amount": 3000}),
    ("三千块", {"amount": 3000}),
    ("3千元", {"amount": 3000}),
    ("能赔1.5万吗", {"amount": 15000}),
    ("78岁", {"age": 78}),
    ("七十八岁", {"age": 78}),
    ("住院10天", {"days": 10}),
    ("住了十天", {"days": 10}),
    ("住院一天给多少钱", {}),
    ("被车撞了", {"accident_type": "traffic"}),
    ("被开水烫伤", {"accident_type": "burn"}),
    ("被狗咬了", {"accident_type": "dog_bite"}),
    ("高空坠物", {"accident_type": "falling_object"}),
    ("坐公交车", {"transport": "motor_vehicle"}),
    ("坐出租车", {"transport": "motor_vehicle"}),
    ("坐地铁", {"transport": "rail"}),
    ("坐轮船", {"transport": "ship"}),
    ("坐飞机", {"transport": "aircraft"}),
    ("我爸", {"relation": "father"}),
    ("阿嬷", {"relation": "grandmother"}),
    ("阿公", {"relation": "grandfather"}),
    ("老伴", {"relation": "spouse"}),
    ("我摔倒了", {"relation": "self", "accident_type": "fall"}),
    # sets AA/Z: into a pond is drowning; a sting is another accident; 阿祖 is a relative; the accident of
    # the claim reported before is not this one's
    ("阿伯前日跋落鱼池", {"date": "2026-11-19", "accident_type": "drowning"}),
    ("阿爸在鱼塘边跋落水 呛了好多水", {"accident_type": "drowning", "relation": "father"}),
    ("阿姑跋落水沟", {"accident_type": "fall", "relation": "other_relative"}),  # a ditch: a fall
    ("阿嬷被黄蜂叮了 面肿起来", {"accident_type": "other", "relation": "grandmother"}),
    ("阿祖插电饭煲被电到", {"accident_type": "electric_shock", "relation": "other_relative"}),
    ("阮上回报过自己跋倒 这回是阮老伴", {"relation": "spouse"}),
    ("先报阿嬷这个 阿公那个我阿叔会另外报", {"relation": "grandmother"}),
])
def test_slots(nlu: NLU, text: str, slots: dict[str, Any]) -> None:
    assert nlu.predict(text, now=NOW).slots == slots


# Forms met in the blind message sets (elderly writers in Teochew, relatives writing long messages):
# the slot is what the message states (docs/intents.md, "Slot conventions"). NOW is Saturday 2026-11-21.
@pytest.mark.parametrize(("text", "slots"), [
    ("阿嬷昨日下昼在厝跋倒 手骨断去",
     {"date": "2026-11-20", "accident_type": "fall", "relation": "grandmother"}),
    ("我上礼拜三坐公交车 司机急刹 我跋倒",
     {"date": "2026-11-11", "accident_type": "fall", "transport": "motor_vehicle", "relation": "self"}),
    ("阮翁十一月廿号骑脚车跋倒 住了十二日院",
     {"date": "2026-11-20", "days": 12, "accident_type": "fall", "relation": "spouse"}),
    ("阿母八月卅号跋倒", {"date": "2026-08-30", "accident_type": "fall", "relation": "mother"}),
    ("元旦那天我妈在家滑倒", {"date": "2026-01-01", "accident_type": "fall", "relation": "mother"}),
    ("母亲节那日阿母去饮茶 在酒楼厕所跋倒",
     {"date": "2026-05-10", "accident_type": "fall", "relation": "mother"}),
    ("阿嬷初三在祠堂门口跋倒", {"accident_type": "fall", "relation": "grandmother"}),  # lunar: no solar date
    ("我妈12.29在医院门口台阶摔倒", {"date": "2025-12-29", "accident_type": "fall", "relation": "mother"}),
    ("电话号码改 一五八 二六三一 〇七四九", {"phone": "15826310749"}),
    ("电话一八九，二二七三，零五一六", {"phone": "18922730516"}),  # dictated in groups, commas between
    ("不是26，13829471562", {"phone": "13829471562"}),
    ("不是我爸 是我老伴", {"relation": "spouse"}),
    ("唔是阿嬷 是阿公", {"relation": "grandfather"}),
    ("能不能把联系人改成我 我是她女儿", {"relation": "mother"}),
    ("我系伊个仔 我妈昨日跋倒", {"date": "2026-11-20", "accident_type": "fall", "relation": "mother"}),
    ("阿姨你好 我妈昨日在菜市场跋倒", {"date": "2026-11-20", "accident_type": "fall", "relation": "mother"}),
    ("店门口有个八十岁的阿伯被单车撞倒",
     {"age": 80, "accident_type": "collision", "relation": "non_relative"}),
    ("我八十一岁 乎厝边个狗咬着", {"age": 81, "accident_type": "dog_bite", "relation": "self"}),
    ("60岁以上的老人都有吗", {}),
    ("我爸下个月满60 要办手续吗", {"relation": "father"}),
    ("阿嬷88 在祠堂门口跋倒", {"age": 88, "accident_type": "fall", "relation": "grandmother"}),
    ("伤残一级赔足三千是无", {"amount": 3000}),
    ("坐公车出事死亡赔三万 是真个无", {"amount": 30000, "transport": "motor_vehicle"}),
    ("楼顶跌落花盆 砸着我个头", {"accident_type": "falling_object", "relation": "self"}),
    ("我老伴前日落楼梯跋落去 头壳撞破",
     {"date": "2026-11-19", "accident_type": "fall", "relation": "spouse"}),
    ("我妈在广场被小孩骑滑板车撞倒了", {"accident_type": "collision", "relation": "mother"}),
    ("阿公出海讨鱼 船翻了 落水", {"accident_type": "drowning", "relation": "grandfather"}),
    ("我爸坐客轮去南澳 在船上被行李砸伤",
     {"accident_type": "falling_object", "transport": "ship", "relation": "father"}),
    ("外婆住了一个礼拜医院", {"days": 7, "relation": "grandmother"}),
    ("你们周六上班吗", {}),
    ("讲三日就有钱 到今日半个月了", {}),
    ("今天天气怎么样", {}),
    ("老豆喺屋企跌親，入咗醫院", {"accident_type": "fall", "relation": "father"}),
    ("阿嬤上週三被鄰居家的狗咬到小腿",
     {"date": "2026-11-11", "accident_type": "dog_bite", "relation": "grandmother"}),
    ("我是她外甥女 我姨妈摔倒了", {"accident_type": "fall", "relation": "other_relative"}),
])
def test_slots_blind_forms(nlu: NLU, text: str, slots: dict[str, Any]) -> None:
    assert nlu.predict(text, now=NOW).slots == slots


@pytest.mark.parametrize(("text", "intent", "slots"), [
    # "today" words are a date only for an event
    ("今天摔倒了 手骨裂", "claim_report",
     {"date": "2026-11-21", "accident_type": "fall", "relation": "self"}),
    ("今天能办吗", "contact_info", {}),
    # an accident told with nobody named is the writer's own (Chinese drops "I")...
    ("礼拜六去买菜 菜市场地滑跋倒", "claim_report",
     {"date": "2026-11-21", "accident_type": "fall", "relation": "self"}),
    # ...but not when another person is named, nor when the writer reports a death, nor in a question
    ("我家老人出意外了 想报案", "claim_report", {}),
    ("报案 人已经没了 摔死的", "claim_report", {"accident_type": "fall"}),
    ("在家里摔倒算不算意外", "product_question", {"accident_type": "fall"}),
])
def test_slots_that_depend_on_the_intent(nlu: NLU, text: str, intent: str, slots: dict[str, Any]) -> None:
    norm = nlu.normalizer(text)
    assert nlu.slot_extractor.read(norm, NOW.date(), intent).slots == slots


def test_slots_hold_only_contract_slots(nlu: NLU) -> None:
    """The examiner compares the slots object exactly: nothing but the contract's slots may appear."""
    contract = {"date", "id_number", "phone", "amount", "age", "days", "claim_no", "accident_type",
                "transport", "relation"}
    texts = ["十级伤残赔多少", "今年已经住了150天还能领多少", "阿嬷初三跋倒", "我爸走了 申请身故",
             "不是我爸 是我老伴", "我妈摔倒起不来 流好多血",
             f"身份证{VALID_ID} 电话13812345678 花了3000 住院10天 78岁"]
    for text in texts:
        assert set(nlu.predict(text, now=NOW).slots) <= contract, text


def test_id_number(nlu: NLU) -> None:
    assert valid_id_number(VALID_ID)
    assert nlu.predict(f"身份证{VALID_ID}", now=NOW).slots == {"id_number": VALID_ID}
    bad = VALID_ID[:17] + ("1" if VALID_ID[17] != "1" else "2")
    assert "id_number" not in nlu.predict(f"身份证{bad}", now=NOW).slots


def test_id_number_x() -> None:
    body = next(b for b in (f"1101051949123100{i}" for i in range(10)) if id_check_digit(b) == "X")
    assert valid_id_number(body + "x")


def test_case_numbers(nlu: NLU) -> None:
    assert luhn_digit("7992739871") == "3"
    n = make_case_number("lp", "261121", 42)
    assert n == "LP2611210042" + luhn_digit("2611210042")
    spaced = f"lp {n[2:6]} {n[6:10]}-{n[10:]}"
    assert parse_case_number(spaced) == n
    wrong = n[:-1] + str((int(n[-1]) + 1) % 10)
    assert parse_case_number(wrong) is None
    assert nlu.predict(f"查一下{spaced}", now=NOW).slots.get("claim_no") == n
    with pytest.raises(ValueError):
        make_case_number("XX", "261121", 1)


def test_without_people_leaves_what_a_message_says_besides_whom_it_is_about() -> None:
    """What intents.context reads to tell 那我妈呢 她58 (only a person) from 那我妈呢 她摔倒了."""
    ex = SlotExtractor.load(DATA)
    assert ex.without_people("那我妈呢 她58").strip() == "那呢"
    assert ex.without_people("那我爷爷的呢") == "那呢"
    assert ex.without_people("那90岁呢") == "那呢"
    assert ex.without_people("那我妈呢 她摔倒了").replace(" ", "") == "那呢摔倒了"
    assert "住院" in ex.without_people("住院10天呢")
