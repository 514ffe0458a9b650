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
    p = nlu.predict("十级伤残赔多少", now=NOW)
    assert p.facts.disability_grade == 10
    assert set(p.to_json()) == {"text", "intent", "confidence", "faq", "slots"}


def test_product_questions_always_get_a_topic(nlu: NLU) -> None:
    """Every independent author gives a product question a topic; so does the model (faq.yaml
    intents_always_with_faq), even when the FAQ model finds little topic evidence."""
    from intents.evaluate import load_testset

    _, messages = load_testset(ROOT / "tests" / "intents" / "data" / "devset.yaml")
    preds = [nlu.predict(str(m["text"]), now=NOW) for m in messages]
    product = [p for p in preds if p.intent == "product_question"]
    assert len(product) > 100
    assert all(p.faq_topic is not None for p in product)


def test_requests_get_no_faq_topic(nlu: NLU) -> None:
    """A complaint or a request for a person is not a question about the complaint process or hours."""
    for text in ("你们办事太慢了 我要投诉", "转人工", "你们电话多少", "请派人来我家收材料"):
        assert nlu.predict(text, now=NOW).faq_topic is None, text


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


def test_out_of_scope_needs_enough_probability(nlu: NLU) -> None:
    """out_of_scope is the residual class: below its minimum probability the best in-scope intent wins."""
    text = "今天天气怎么样"
    assert nlu.predict(text, now=NOW).intent == "out_of_scope"
    saved = nlu.out_of_scope_min_probability
    try:
        nlu.out_of_scope_min_probability = 1.01
        p = nlu.predict(text, now=NOW)
        assert p.intent != "out_of_scope"
        assert p.intent == next(i for i, _ in nlu.top_intents(text, k=2) if i != "out_of_scope")
        assert p.confidence < nlu.low_confidence_threshold  # so the caller asks with choices
    finally:
        nlu.out_of_scope_min_probability = saved
    assert 0.0 < saved < 1.0  # read from config/nlu/decision.yaml


def test_out_of_scope_wins_against_an_unsure_in_scope_intent(nlu: NLU) -> None:
    """decision.yaml: out_of_scope needs its minimum probability and a share of the best in-scope intent's
    probability (the ratio); at the ratio 1.0 it must be the most probable class."""
    probs = [0.0] * len(nlu.intents)
    oos = nlu.intents.index("out_of_scope")
    other = nlu.intents.index("claim_report")
    saved = nlu.out_of_scope_min_probability, nlu.out_of_scope_min_ratio
    try:
        nlu.out_of_scope_min_probability, nlu.out_of_scope_min_ratio = 0.3, 0.6
        probs[oos], probs[other] = 0.35, 0.55  # 0.35 >= 0.6 × 0.55: out_of_scope
        assert nlu._best(probs) == oos
        probs[oos], probs[other] = 0.32, 0.62  # 0.32 < 0.6 × 0.62: the in-scope intent
        assert nlu._best(probs) == other
        probs[oos], probs[other] = 0.25, 0.3  # below the minimum probability: the in-scope intent
        assert nlu._best(probs) == other
        nlu.out_of_scope_min_ratio = 1.0
        probs[oos], probs[other] = 0.35, 0.55  # the most probable class only
        assert nlu._best(probs) == other
    finally:
        nlu.out_of_scope_min_probability, nlu.out_of_scope_min_ratio = saved
    # a ratio r only changes messages whose best in-scope probability is at most 1 / (1 + r), which must
    # stay below the low-confidence threshold (there the dialogue asks back whatever intent is returned)
    assert 1 / (1 + nlu.out_of_scope_min_ratio) < nlu.low_confidence_threshold


def test_targets_on_testset(nlu: NLU) -> None:
    """The project's own test set. About 30 of its messages are general questions about a service rule
    (理赔要多久, 投诉多久处理) labelled with the service's intent; the blind authors and the dev set label
    them product_question, which the model now follows (docs/intents.md, "Labelling conventions"), so
    both readings are accepted for those messages (the FAQ topic must still be right)."""
    # Only aggregate figures may appear in a failure message: never the held-out messages themselves
    # (whoever reads the failure would otherwise be tempted to tune on them).
    res = evaluate(nlu, Path(TESTSET), either_convention=True)
    figures = {
        "macro_f1": round(res.macro_f1, 4),
        "oos_precision": round(res.per_intent["out_of_scope"][0], 4),
        "oos_recall": round(res.per_intent["out_of_scope"][1], 4),
        "faq_top1": round(res.faq_top1, 4),
        "slot_exact": round(res.slot_exact, 4),
    }
    targets = {"macro_f1": 0.95, "oos_precision": 0.90, "oos_recall": 0.90, "faq_top1": 0.92,
               "slot_exact": 0.95}
    missed = sorted(k for k, v in targets.items() if figures[k] < v)
    assert not missed, f"targets missed: {missed}; figures {figures}"


def test_heldout_author_T(nlu: NLU) -> None:
    """A third blind author, never trained or tuned on (tests/intents/data/blind/T-heldout/README.md).
    Floors: the issue's targets for the hidden set where they were met when T was first run (macro-F1
    0.927, FAQ 0.942, slots 0.932); out_of_scope acted on was 0.103 against a target of 0.02, so that floor
    only guards against getting worse. Aggregates only in the failure message, never messages."""
    res = evaluate(nlu, ROOT / "tests" / "intents" / "data" / "blind" / "T-heldout")
    figures = {"macro_f1": round(res.macro_f1, 4), "faq_top1": round(res.faq_top1, 4),
               "slot_exact": round(res.slot_exact, 4), "oos_acted": round(res.oos_acted, 4), "n": res.n}
    assert res.n == 702, figures
    assert res.macro_f1 >= 0.92 and res.faq_top1 >= 0.90 and res.slot_exact >= 0.85, figures
    # 0.103 at first; 0.029 (2 of 68) after the out-of-scope work (docs/intents.md): one message of slack
    assert res.oos_acted <= 0.045, figures


def test_heldout_author_T2(nlu: NLU) -> None:
    """A fifth blind author, never trained or tuned on (tests/intents/data/blind/T2-heldout/README.md), run
    once at the end of the out-of-scope work: macro-F1 0.934, FAQ 0.944, slots 0.903, out_of_scope acted
    on 0.056 (8 of 143) against the target 0.02, so that floor only guards against getting worse (two
    messages of slack). Aggregates only in the failure message, never messages."""
    res = evaluate(nlu, ROOT / "tests" / "intents" / "data" / "blind" / "T2-heldout")
    figures = {"macro_f1": round(res.macro_f1, 4), "faq_top1": round(res.faq_top1, 4),
               "slot_exact": round(res.slot_exact, 4), "oos_acted": round(res.oos_acted, 4), "n": res.n}
    assert res.n == 485, figures
    assert res.macro_f1 >= 0.92 and res.faq_top1 >= 0.90 and res.slot_exact >= 0.85, figures
    assert res.oos_acted <= 0.07, figures


def test_either_convention_only_forgives_service_rule_questions(nlu: NLU) -> None:
    from intents.evaluate import either_way

    assert either_way(nlu, "claim_progress", "product_question", "claim_timeline")
    assert either_way(nlu, "product_question", "complaint", "complaint_process")
    assert not either_way(nlu, "claim_progress", "product_question", "hospital_allowance")
    assert not either_way(nlu, "claim_progress", "claim_report", "claim_timeline")
    assert not either_way(nlu, "claim_progress", "product_question", None)


def test_answers_have_no_stray_spaces_between_chinese_sentences(nlu: NLU, product: dict[str, Any]) -> None:
    import re

    for topic in nlu.faq_answers:
        answer = nlu.faq_answer(topic, product)
        assert not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff01-\uff1f] ", answer), (topic, answer)
