"""``python -m intents cv``: 5-fold cross-validation of the intent and FAQ models on the training data.

Folds are fixed (example ``i`` of the sorted, deduplicated data goes to fold ``i % 5``), so figures are
reproducible. The FAQ figure is the top-1 accuracy of the FAQ model alone on held-out FAQ-topic examples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from intents.model import LinearModel
from intents.train import (
    FAQ_C,
    INTENT_C,
    MIN_DF,
    NONE_TOPIC,
    Featurizer,
    faq_training,
    fit_linear,
    load_training,
)

FOLDS = 5


def _macro(pairs: list[tuple[str, str]]) -> tuple[float, dict[str, tuple[float, float, float]]]:
    labels = sorted({g for g, _ in pairs})
    per: dict[str, tuple[float, float, float]] = {}
    for lab in labels:
        tp = sum(1 for g, p in pairs if g == lab and p == lab)
        fp = sum(1 for g, p in pairs if g != lab and p == lab)
        fn = sum(1 for g, p in pairs if g == lab and p != lab)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        per[lab] = (prec, rec, 2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return sum(f for _, _, f in per.values()) / len(per), per


def crossval(data_dir: Path, log: Callable[[str], None] = print) -> dict[str, float]:
    """Print and return the cross-validated figures."""
    fz = Featurizer(data_dir)
    pairs = load_training(data_dir)
    rows = [fz(t) for t, _ in pairs]
    labels = [lab for _, lab in pairs]
    out: list[tuple[str, str]] = []
    for k in range(FOLDS):
        tr = [i for i in range(len(rows)) if i % FOLDS != k]
        model = LinearModel.from_json(
            fit_linear([rows[i] for i in tr], [labels[i] for i in tr], INTENT_C, MIN_DF))
        for i in range(k, len(rows), FOLDS):
            probs = model.proba(rows[i])
            out.append((labels[i], model.classes[max(range(len(probs)), key=probs.__getitem__)]))
    macro, per = _macro(out)
    acc = sum(g == p for g, p in out) / len(out)
    oos = per.get("out_of_scope", (0.0, 0.0, 0.0))
    log(f"intent: {len(out)} examples, accuracy {acc:.4f}, macro-F1 {macro:.4f}, "
        f"out_of_scope P/R {oos[0]:.3f}/{oos[1]:.3f}")
    for (g, p), n in Counter((g, p) for g, p in out if g != p).most_common(12):
        log(f"  {g} → {p}: {n}")
    fpairs = faq_training(data_dir, pairs)
    frows = [fz(t) for t, _ in fpairs]
    flabels = [lab for _, lab in fpairs]
    hits = total = 0
    for k in range(FOLDS):
        tr = [i for i in range(len(frows)) if i % FOLDS != k]
        trows = [frows[i] for i in tr]
        tl = [flabels[i] for i in tr]
        always = {f for r, lab in zip(trows, tl, strict=True) if lab != NONE_TOPIC for f in r}
        fmodel = LinearModel.from_json(fit_linear(trows, tl, FAQ_C, MIN_DF, always=always))
        for i in range(k, len(frows), FOLDS):
            if flabels[i] == NONE_TOPIC:
                continue
            fp = dict(zip(fmodel.classes, fmodel.proba(frows[i]), strict=True))
            ranked = sorted((c for c in fmodel.classes if c != NONE_TOPIC), key=lambda c: -fp[c])
            total += 1
            hits += ranked[0] == flabels[i]
    faq_top1 = hits / total if total else 0.0
    log(f"faq: {total} held-out topic examples, top-1 {faq_top1:.4f}")
    return {"intent_accuracy": acc, "intent_macro_f1": macro, "oos_precision": oos[0], "oos_recall": oos[1],
            "faq_top1": faq_top1}


def crossauthor(data_dir: Path, blind_dir: Path, log: Callable[[str], None] = print,
                show_errors: bool = False, calibrate: bool = True) -> dict[str, Any]:
    """Leave one author out: for each ``<blind_dir>/<X>/`` whose messages are in the training data as
    ``training/messages/<X>-*.yaml``, train without that author's files and evaluate on the verbatim
    ``<blind_dir>/<X>/`` files. Returns {author: EvalResult}. *calibrate*: cross-validate each model's
    low-confidence threshold as training does (the "acted on with confidence" figure needs it); without
    it the threshold is 0.5 and the run is about five times faster."""
    import tempfile

    from intents.evaluate import evaluate, format_report
    from intents.model import NLU
    from intents.train import build_artefact, message_files, write_artefact

    authors = sorted(d.name for d in blind_dir.iterdir()
                     if d.is_dir() and any(p.name.startswith(d.name + "-") for p in message_files(data_dir)))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for author in authors:
            art = build_artefact(data_dir, exclude=(author + "-",), calibrate=calibrate, log=lambda s: None)
            path = write_artefact(art, Path(tmp) / f"model-{author}.json")
            res = evaluate(NLU.load(data_dir, model_path=path), blind_dir / author)
            results[author] = res
            log(f"== trained without author {author}, evaluated on {blind_dir / author} "
                f"(low-confidence threshold {art['intent']['threshold']})")
            log(format_report(res, show_errors=show_errors))
    return results
