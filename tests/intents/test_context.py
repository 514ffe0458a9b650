"""The context input of NLU.predict: short follow-ups read with the previous turn (issue 11)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from intents import NLU, Context, FollowUp

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "intents" / "data" / "context.yaml"
NOW = datetime.fromisoformat("2026-11-21T10:00:00+08:00")


def _cases() -> list[dict[str, Any]]:
    raw: Any = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    return list(raw["messages"])


def _ok(nlu: NLU, case: dict[str, Any]) -> bool:
    ctx = Context(**case["context"])
    p = nlu.predict(case["text"], now=NOW, context=ctx)
    return p.intent == case["intent"] and ("faq" not in case or p.faq_topic == case["faq"])


def test_the_issue_examples_are_read_with_the_previous_topic(nlu: NLU) -> None:
    death = Context(intent="product_question", faq_topic="accident_death")
    p = nlu.predict("那住院呢", now=NOW, context=death)
    assert (p.intent, p.faq_topic, p.follow_up) == ("product_question", "hospital_allowance", FollowUp.MARKED)
    p = nlu.predict("坐车出事呢", now=NOW, context=death)
    assert (p.intent, p.faq_topic) == ("product_question", "transport_death")
    eligibility = Context(intent="product_question", faq_topic="eligibility")
    p = nlu.predict("那我妈呢 她五十八", now=NOW, context=eligibility)
    assert (p.intent, p.faq_topic) == ("product_question", "eligibility")
    assert p.slots == {"age": 58, "relation": "mother"}


def test_without_context_the_short_follow_up_is_not_understood(nlu: NLU) -> None:
    """The same message alone is no product question: the context is what makes the difference."""
    p = nlu.predict("那住院呢", now=NOW)
    assert p.follow_up is FollowUp.NONE
    # another reading, or the same one too unsure to act on (the bot asks what they mean)
    assert (p.intent, p.faq_topic) != ("product_question", "hospital_allowance") \
        or p.confidence < nlu.low_confidence_threshold
    death = Context(intent="product_question", faq_topic="accident_death")
    assert nlu.predict("那住院呢", now=NOW, context=death).confidence >= nlu.low_confidence_threshold


def test_strong_text_evidence_beats_the_context(nlu: NLU) -> None:
    ctx = Context(intent="product_question", faq_topic="premium")
    assert nlu.predict("那算了", now=NOW, context=ctx).intent == "cancel"
    assert nlu.predict("那转人工吧", now=NOW, context=ctx).intent == "human_agent"


def test_a_standalone_message_ignores_the_context(nlu: NLU) -> None:
    text = "我妈昨天在家摔倒骨折住院了 想报案"
    alone = nlu.predict(text, now=NOW)
    with_ctx = nlu.predict(text, now=NOW, context=Context(intent="product_question", faq_topic="eligibility"))
    assert with_ctx.follow_up is FollowUp.NONE
    assert (with_ctx.intent, with_ctx.confidence, with_ctx.faq_topic, with_ctx.slots) == (
        alone.intent, alone.confidence, alone.faq_topic, alone.slots)


def test_a_bare_follow_up_takes_the_previous_intent(nlu: NLU) -> None:
    ctx = Context(intent="claim_materials", faq_topic="claim_materials")
    p = nlu.predict("还有呢", now=NOW, context=ctx)
    assert (p.intent, p.faq_topic, p.follow_up) == ("claim_materials", "claim_materials", FollowUp.BARE)


def test_expected_intents_of_a_flow_step_are_favoured(nlu: NLU) -> None:
    """At a confirmation the dialogue expects yes/no: a short answer leans that way."""
    ctx = Context(intent="claim_report", expects=("affirm", "deny"), flow_step="claim_report.confirm")
    p = nlu.predict("嗯", now=NOW, context=ctx)
    assert p.follow_up is FollowUp.SHORT and p.intent == "affirm"
    plain = nlu.predict("嗯", now=NOW)
    assert p.confidence >= plain.confidence


def test_an_empty_context_changes_nothing(nlu: NLU) -> None:
    p = nlu.predict("那住院呢", now=NOW, context=Context())
    assert p.follow_up is FollowUp.NONE


def test_context_cases(nlu: NLU) -> None:
    """Aggregate over the written follow-up cases (tests/intents/data/context.yaml): at least 90 %."""
    cases = _cases()
    failed = [c["text"] for c in cases if not _ok(nlu, c)]
    assert len(failed) <= len(cases) // 10, failed


@pytest.mark.parametrize("kind", list(FollowUp))
def test_follow_up_kinds_are_named(kind: FollowUp) -> None:
    assert kind.value == kind.name.lower()


def test_a_follow_up_that_only_changes_the_person_keeps_the_intent(nlu: NLU) -> None:
    """那我妈呢 / 那我阿公呢 / 九十岁呢 ask the previous question about someone else: the previous intent,
    whatever the person words alone suggest to the model; a follow-up with content of its own is no such."""
    report = Context(intent="claim_report")
    p = nlu.predict("那我阿公呢", now=NOW, context=report)
    assert (p.intent, p.follow_up, p.slots.get("relation")) == ("claim_report", FollowUp.BARE, "grandfather")
    lookup = Context(intent="policy_lookup")
    assert nlu.predict("那我老伴的呢", now=NOW, context=lookup).intent == "policy_lookup"
    eligibility = Context(intent="product_question", faq_topic="eligibility")
    p = nlu.predict("那我妈呢 她摔倒住院了", now=NOW, context=eligibility)
    assert p.follow_up is FollowUp.MARKED and p.intent == "claim_report"
