"""``python -m intents eval``: intent P/R/F1, confusion matrix, FAQ top-1/top-3, slot exact match and the
share of out-of-scope messages acted on as a business intent, over one or more YAML files (each with its
own ``now``) or directories of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from intents.model import NLU


@dataclass
class EvalResult:
    """Figures of one evaluation run."""

    n: int = 0
    per_intent: dict[str, tuple[float, float, float, int]] = field(default_factory=dict)
    macro_f1: float = 0.0
    accuracy: float = 0.0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    faq_n: int = 0
    faq_top1: float = 0.0
    faq_top3: float = 0.0
    slot_n: int = 0
    slot_exact: float = 0.0
    oos_n: int = 0
    oos_acted: float = 0.0  # share of out_of_scope messages predicted as a business intent
    oos_acted_confident: float = 0.0  # ...with confidence ≥ the low-confidence threshold (the bot acts)
    errors: list[str] = field(default_factory=list)


# Intents that make the bot act (start a flow, look something up, answer about the product, hand off).
# An out_of_scope message read as one of these is "acted on"; greeting/goodbye/affirm/deny/cancel are not.
BUSINESS_INTENTS = frozenset({
    "product_question", "claim_report", "claim_materials", "claim_progress", "complaint", "human_agent",
    "home_visit", "contact_info", "policy_lookup", "info_update"})


def load_testset(path: Path) -> tuple[datetime | None, list[dict[str, Any]]]:
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    now = raw.get("now")
    ref = datetime.fromisoformat(str(now)) if now else None
    return ref, list(raw["messages"])


def expand(paths: Path | Iterable[Path]) -> list[Path]:
    """The YAML files of *paths* (a directory stands for its ``*.yaml`` files, sorted)."""
    out: list[Path] = []
    for p in [paths] if isinstance(paths, Path) else paths:
        out.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    return out


def either_way(nlu: NLU, gold: str, predicted: str, topic: object) -> bool:
    """True when *gold* and *predicted* are the two readings of a general question about a service rule:
    product_question and the intent of the FAQ topic (理赔要多久: product_question or claim_progress).
    Independent authors label these both ways (docs/intents.md, "Labelling conventions")."""
    spec = nlu.faq_answers.get(str(topic)) if topic else None
    own = str(spec.get("intent")) if spec else None
    return own is not None and own != "product_question" and {gold, predicted} == {own, "product_question"}


def evaluate(nlu: NLU, path: Path | Iterable[Path], *, either_convention: bool = False) -> EvalResult:
    """Run the NLU on every message of the YAML test file(s) at *path* (files or directories).
    *either_convention*: a service-rule question counts as right under both labelling conventions."""
    batches = [load_testset(p) for p in expand(path)]
    messages = [(now, m) for now, ms in batches for m in ms]
    res = EvalResult(n=len(messages))
    labels = sorted(set(nlu.intents) | {str(m["intent"]) for _, m in messages})
    conf = {a: {b: 0 for b in labels} for a in labels}
    faq1 = faq3 = slot_ok = acted = acted_confident = 0
    for now, m in messages:
        text = str(m["text"])
        p = nlu.predict(text, now=now)
        gold = str(m["intent"])
        if either_convention and either_way(nlu, gold, p.intent, m.get("faq")):
            gold = p.intent
        conf[gold][p.intent] += 1
        if gold == "out_of_scope":
            res.oos_n += 1
            acted += p.intent in BUSINESS_INTENTS
            acted_confident += p.intent in BUSINESS_INTENTS and p.confidence >= nlu.low_confidence_threshold
        if gold != p.intent:
            res.errors.append(f"intent {gold} → {p.intent} ({p.confidence:.2f}): {text}")
        if "faq" in m:
            res.faq_n += 1
            want = m["faq"]
            top3 = [t for t, _ in p.faq_ranking] if p.faq_topic is not None else []
            if want is None:
                ok1 = ok3 = p.faq_topic is None
            else:
                ok1 = p.faq_topic == want
                ok3 = want in top3
            faq1 += ok1
            faq3 += ok3
            if not ok1:
                res.errors.append(f"faq {want} → {p.faq_topic} ({p.faq_score:.2f}): {text}")
        if "slots" in m:
            res.slot_n += 1
            want_slots = dict(m["slots"] or {})
            want_slots = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in want_slots.items()}
            if want_slots == p.slots:
                slot_ok += 1
            else:
                res.errors.append(f"slots {want_slots} → {p.slots}: {text}")
    f1s = []
    for lab in labels:
        tp = conf[lab][lab]
        fp = sum(conf[o][lab] for o in labels) - tp
        fn = sum(conf[lab].values()) - tp
        support = sum(conf[lab].values())
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        res.per_intent[lab] = (prec, rec, f1, support)
        if support:
            f1s.append(f1)
    res.macro_f1 = sum(f1s) / len(f1s) if f1s else 0.0
    res.accuracy = sum(conf[a][a] for a in labels) / res.n if res.n else 0.0
    res.confusion = conf
    res.faq_top1 = faq1 / res.faq_n if res.faq_n else 0.0
    res.faq_top3 = faq3 / res.faq_n if res.faq_n else 0.0
    res.slot_exact = slot_ok / res.slot_n if res.slot_n else 0.0
    res.oos_acted = acted / res.oos_n if res.oos_n else 0.0
    res.oos_acted_confident = acted_confident / res.oos_n if res.oos_n else 0.0
    return res


def format_report(res: EvalResult, show_errors: bool = True) -> str:
    """Human-readable report."""
    out = [f"messages: {res.n}", "", f"{'intent':<18}{'prec':>7}{'rec':>7}{'f1':>7}{'n':>6}"]
    for lab, (p, r, f, n) in res.per_intent.items():
        out.append(f"{lab:<18}{p:7.3f}{r:7.3f}{f:7.3f}{n:6d}")
    out.append(f"macro-F1: {res.macro_f1:.4f}   accuracy: {res.accuracy:.4f}")
    labels = list(res.confusion)
    short = [lab[:6] for lab in labels]
    out += ["", "confusion matrix (rows = expected, columns = predicted):",
            " " * 18 + "".join(f"{s:>7}" for s in short)]
    for lab in labels:
        out.append(f"{lab:<18}" + "".join(f"{res.confusion[lab][c]:7d}" for c in labels))
    out += ["", f"FAQ top-1: {res.faq_top1:.4f}   top-3: {res.faq_top3:.4f}   (n={res.faq_n})",
            f"slot exact-match: {res.slot_exact:.4f}   (n={res.slot_n})",
            f"out_of_scope acted on as a business intent: {res.oos_acted:.4f}   (n={res.oos_n}); "
            f"with confidence ≥ the low-confidence threshold: {res.oos_acted_confident:.4f}"]
    if show_errors and res.errors:
        out += ["", "errors:"] + [f"  {e}" for e in res.errors]
    return "\n".join(out)
