"""The dialogue evaluation runs end to end: real webhook, WeChat's wire format, records read back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.eval.dialogues import EVAL_DIR, Conversation, Service, load, run

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    svc = Service(tmp_path_factory.mktemp("eval") / "var")
    yield svc
    svc.close()


def test_both_halves_load_and_are_disjoint() -> None:
    dev, test = load(EVAL_DIR / "dialogues-dev.yaml"), load(EVAL_DIR / "dialogues-test.yaml")
    assert len(dev) >= 30 and len(test) >= 30
    assert not {c.id for c in dev} & {c.id for c in test}
    assert all(c.turns and c.expect.get("outcome") for c in dev + test)


def test_a_conversation_is_played_over_the_wire_and_scored(service: Service) -> None:
    asks_person = Conversation(id="T1", turns=["转人工"], expect={"outcome": "handoff"}, now=NOW)
    wrong = Conversation(id="T2", turns=["住院一天赔多少钱", {"type": "voice"}],
                         expect={"outcome": "complaint", "must_say": [["30"]]}, now=NOW)
    first, second = run([asks_person, wrong], service)
    assert first.passed, first.failures
    assert first.transcript[0][1], "the customer got an answer"
    assert second.failures == ["no complaint was created"]  # the allowance (30) was said
    assert len(second.transcript) == 2 and all(texts for _, texts in second.transcript)


def test_the_runner_reads_its_own_files(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text("- id: X1\n  turns: [你好]\n  expect: {outcome: answer}\n", encoding="utf-8")
    (conv,) = load(path)
    assert conv.id == "X1" and conv.turns == ["你好"] and conv.now.utcoffset() == dt.timedelta(hours=8)


# The dev half's score when this was last tuned (issue 11: 7/36 before). A change that loses a
# conversation fails here; reaching more, raise it.
DEV_SCORE = 36


def test_dev_half_keeps_its_score(service: Service) -> None:
    results = run(load(EVAL_DIR / "dialogues-dev.yaml"), service)
    failed = {r.conversation.id: r.failures for r in results if not r.passed}
    assert len(results) - len(failed) >= DEV_SCORE, failed
