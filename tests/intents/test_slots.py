from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from intents import NLU
from intents.case_numbers import luhn_digit, make_case_number, parse_case_number
from intents.slots import id_check_digit, valid_id_number

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
])
def test_slots(nlu: NLU, text: str, slots: dict[str, Any]) -> None:
    assert nlu.predict(text, now=NOW).slots == slots


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
