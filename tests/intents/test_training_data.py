"""Training data loading (labelled message files, author exclusion) and multi-file evaluation."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from intents import NLU
from intents.evaluate import evaluate
from intents.train import NONE_TOPIC, faq_training, load_messages, load_training, message_files

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "config" / "nlu"
BLIND = ROOT / "tests" / "intents" / "data" / "blind"


def test_blind_sets_are_training_data_verbatim() -> None:
    """The training copies of A, B and C are the verbatim blind files (tests/intents/data/blind/A|B|C)."""
    for author in ("A", "B", "C"):
        copies = {p.name.removeprefix(author + "-"): p.read_bytes()
                  for p in message_files(DATA) if p.name.startswith(author + "-")}
        originals = {p.name: p.read_bytes() for p in sorted((BLIND / author).glob("*.yaml"))}
        assert copies and copies == originals, author
    held_out = [p for p in message_files(DATA) if p.name.startswith("T")]
    assert not held_out, "the held-out sets are never trained on"
    trained = {p.read_bytes() for p in message_files(DATA)}
    for held in ("T-heldout", "T2-heldout"):
        files = sorted((BLIND / held).glob("*.yaml"))
        assert files and (BLIND / held / "README.md").exists(), held
        assert not {p.read_bytes() for p in files} & trained, held


def test_an_author_can_be_left_out() -> None:
    every = load_messages(DATA)
    without_a = load_messages(DATA, exclude=("A-",))
    a_texts = {str(m["text"]) for p in sorted((BLIND / "A").glob("*.yaml"))
               for m in yaml.safe_load(p.read_text(encoding="utf-8"))["messages"]}
    assert len(every) - len(without_a) == 800
    assert not ({t for t, _, _ in without_a} - {t for t, _, _ in every})
    elsewhere = {t for t, _ in load_training(DATA, exclude=("A-",))}
    only_in_a = a_texts - {t for t, _, _ in without_a} - elsewhere
    assert len(only_in_a) > 700  # leaving A out removes nearly all of A's messages from training...
    assert only_in_a <= {t for t, _ in load_training(DATA)}  # ...which are trained on otherwise


def test_labelled_messages_train_the_faq_model_with_their_own_label(tmp_path: Path) -> None:
    data = tmp_path / "nlu"
    shutil.copytree(DATA, data, ignore=shutil.ignore_patterns("model"))
    for p in message_files(data):
        p.unlink()
    messages = [{"text": "甲乙丙的规矩是什么", "intent": "product_question", "faq": "premium", "slots": {}},
                {"text": "丁戊己投诉", "intent": "complaint", "faq": None, "slots": {}}]
    (data / "training" / "messages" / "Z-x.yaml").write_text(
        yaml.safe_dump({"now": "2026-11-21T10:00:00+08:00", "messages": messages}, allow_unicode=True),
        encoding="utf-8")
    pairs = load_training(data)
    assert ("甲乙丙的规矩是什么", "product_question") in pairs
    faq = dict(faq_training(data, pairs))
    assert faq["甲乙丙的规矩是什么"] == "premium" and faq["丁戊己投诉"] == NONE_TOPIC
    # a FAQ question trains its topic; a hand-written complaint trains "_none" (a complaint is not a
    # question about complaints); a claim_materials example trains claim_materials (faq.yaml intent_topics)
    assert faq["我要投诉"] == "complaint_process"
    assert faq["讲好今天上门 等了一整天没人来"] == NONE_TOPIC
    assert faq["户口本可以代替身份证吗"] == "claim_materials"
    assert faq["能不能派人来家里"] == "home_visit_service" and faq["派个人来我家"] == NONE_TOPIC


def test_eval_over_files_keeps_each_files_now(nlu: NLU, tmp_path: Path) -> None:
    for name, now in (("a.yaml", "2026-11-21T10:00:00+08:00"), ("b.yaml", "2027-01-05T10:00:00+08:00")):
        (tmp_path / name).write_text(yaml.safe_dump({"now": now, "messages": [
            {"text": "我妈昨天摔倒了", "intent": "claim_report", "faq": None,
             "slots": {"date": "2026-11-20" if name == "a.yaml" else "2027-01-04", "accident_type": "fall",
                       "relation": "mother"}},
            {"text": "今天天气怎么样", "intent": "out_of_scope", "faq": None, "slots": {}}]},
            allow_unicode=True), encoding="utf-8")
    res = evaluate(nlu, tmp_path)
    assert res.n == 4 and res.slot_exact == 1.0 and res.faq_top1 == 1.0
    assert res.oos_n == 2 and res.oos_acted == 0.0
