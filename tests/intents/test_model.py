from __future__ import annotations

import copy
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from intents import NLU
from intents.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "config" / "nlu"
PRODUCT = ROOT / "config" / "products" / "chaonan-elderly-accident.yaml"
NOW = datetime.fromisoformat("2026-11-21T10:00:00+08:00")
PY = sys.executable



TESTSET = ROOT / "tests" / "intents" / "data" / "testset.yaml"


@pytest.fixture(scope="module")
def product() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(PRODUCT.read_text(encoding="utf-8"))
    return data


def test_api(nlu: NLU) -> None:
    p = nlu.predict("我妈昨天在家跋倒了", now=NOW)
    assert p.intent == "claim_report" and p.normalized == "我妈昨天在家摔倒了"
    assert p.to_json()["slots"] == p.slots
    top = nlu.top_intents("摔倒住院能赔多少", k=3)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]
    assert 0.0 < nlu.low_confidence_threshold < 1.0
    assert nlu.predict("今天天气怎么样", now=NOW).faq_topic is None
    assert nlu.predict("住院一天给多少钱", now=NOW).faq_topic == "hospital_allowance"


def test_all_faq_topics_render(nlu: NLU, product: dict[str, Any]) -> None:
    assert len(nlu.faq_answers) == 19
    for topic in nlu.faq_answers:
        text = nlu.faq_answer(topic, product)
        assert text and "{" not in text and "None" not in text


def test_faq_follows_product_data(nlu: NLU, product: dict[str, Any]) -> None:
    changed = copy.deepcopy(product)
    changed["benefits"]["hospital_allowance"]["per_day_yuan"] = 45
    before = nlu.faq_answer("hospital_allowance", product)
    after = nlu.faq_answer("hospital_allowance", changed)
    assert "30元" in before and "5400元" in before
    assert "45元" in after and "8100元" in after and "30元" not in after


def test_null_values_rendered_honestly(nlu: NLU, product: dict[str, Any]) -> None:
    med = nlu.faq_answer("medical_expense", product)
    assert "还没有公布" in med and "None" not in med
    hours = nlu.faq_answer("service_hours", product)
    assert "公众号菜单" in hours
    changed = copy.deepcopy(product)
    changed["contact"]["hotline"] = "0754-12345678"
    changed["benefits"]["medical_expense"]["amount_yuan"] = 20000
    assert "0754-12345678" in nlu.faq_answer("service_hours", changed)
    assert "20000元" in nlu.faq_answer("medical_expense", changed)


@pytest.mark.skipif(not TESTSET.exists(), reason="held-out test set not written yet")
def test_targets_on_testset(nlu: NLU) -> None:
    res = evaluate(nlu, Path(TESTSET))
    oos_p, oos_r, _, _ = res.per_intent["out_of_scope"]
    assert res.macro_f1 >= 0.95
    assert oos_p >= 0.90 and oos_r >= 0.90
    assert res.faq_top1 >= 0.92
    assert res.slot_exact >= 0.95
