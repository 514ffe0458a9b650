"""``python -m intents check``: is the committed artefact current, and does retraining give the same model?

Training is reproducible byte for byte on one machine, not across CPUs: lbfgs and the numeric kernels
under it (BLAS, libm, numpy's SIMD loops) add in an order that depends on the CPU. With a loose stopping
tolerance that order also changes where lbfgs stops (the artefact of 2026-12-04 was 2-3 units away from a
retrain on another machine, which failed this check on a fresh clone); with ``intents.train.TOL`` at 1e-10
lbfgs reaches the optimum itself and only weights near a rounding boundary land one unit (1/1000) away
(measured by shuffling the training rows, which changes the summation order the same way: 61 of 245,040
intent and 30 of 406,000 FAQ weights, all by exactly one unit). What must hold on every machine, and is
checked here:

1. **Current**: the artefact's ``data_sha256`` and ``params`` equal the digest of the data files and the
   training settings of the code (:func:`staleness`, no training needed).
2. **Same model**: a retrained artefact has the same classes, example counts and settings; every weight
   and bias within ``WEIGHT_TOLERANCE`` units; the threshold within ``THRESHOLD_TOLERANCE``; and the same
   intent and FAQ topic for every message of the given evaluation sets (:func:`differences`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from intents.evaluate import load_testset
from intents.model import MODEL_FILE, NLU, TRAIN_COMMAND
from intents.train import data_digest, train, training_params

WEIGHT_TOLERANCE = 1  # units of 1/scale
THRESHOLD_TOLERANCE = 0.01  # one step of the calibration grid
# Recorded by training but not part of the model: cross-validated figures, rounded to 4 decimals.
_INFORMATIVE = ("calibration",)


def staleness(data_dir: Path, artefact: Mapping[str, Any]) -> list[str]:
    """Why *artefact* is not current with the data and training settings of *data_dir* (empty: it is)."""
    reasons = []
    if artefact.get("data_sha256") != data_digest(data_dir):
        reasons.append("the training data changed since the model was trained (data_sha256)")
    params = artefact.get("params")
    if params != training_params():
        changed = sorted(k for k in set(params or {}) | set(training_params())
                         if (params or {}).get(k) != training_params().get(k))
        reasons.append(f"the training settings changed since the model was trained: {', '.join(changed)}")
    return reasons


def _weight_differences(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = []
    for key in ("classes", "scale"):
        if old.get(key) != new.get(key):
            out.append(f"{name}: {key} differ")
    if out:
        return out
    n = len(old["classes"])
    worst, where = 0, ""
    for feature in sorted(set(old["weights"]) | set(new["weights"])):
        a, b = old["weights"].get(feature, [0] * n), new["weights"].get(feature, [0] * n)
        gap = max(abs(x - y) for x, y in zip(a, b, strict=True))
        if gap > worst:
            worst, where = gap, feature
    bias_gap = max(abs(x - y) for x, y in zip(old["bias"], new["bias"], strict=True))
    if worst > WEIGHT_TOLERANCE:
        out.append(f"{name}: weight of {where!r} differs by {worst} units (tolerance {WEIGHT_TOLERANCE})")
    if bias_gap > WEIGHT_TOLERANCE:
        out.append(f"{name}: a bias differs by {bias_gap} units (tolerance {WEIGHT_TOLERANCE})")
    for key in sorted(set(old) | set(new)):
        if key in ("classes", "scale", "weights", "bias", "threshold", *_INFORMATIVE):
            continue
        if old.get(key) != new.get(key):
            out.append(f"{name}: {key} differ")
    threshold_gap = abs(float(old.get("threshold", 0)) - float(new.get("threshold", 0)))
    if threshold_gap > THRESHOLD_TOLERANCE + 1e-9:
        out.append(f"{name}: threshold {old.get('threshold')} vs {new.get('threshold')}")
    return out


def _prediction_differences(data_dir: Path, old_path: Path, new_path: Path,
                            sets: Sequence[Path]) -> list[str]:
    old, new = NLU.load(data_dir, model_path=old_path), NLU.load(data_dir, model_path=new_path)
    out = []
    for path in sets:
        now, messages = load_testset(path)
        for m in messages:
            text = str(m["text"])
            a, b = old.predict(text, now=now), new.predict(text, now=now)
            if (a.intent, a.faq_topic) != (b.intent, b.faq_topic):
                out.append(f"{path.name}: {text!r}: {a.intent}/{a.faq_topic} → {b.intent}/{b.faq_topic}")
    return out


def differences(data_dir: Path, committed: Path, retrained: Path, sets: Sequence[Path]) -> list[str]:
    """What makes *retrained* another model than *committed* (empty: the same model, see the module doc)."""
    old, new = json.loads(committed.read_text("utf-8")), json.loads(retrained.read_text("utf-8"))
    out = [f"{key} differ" for key in sorted(set(old) | set(new))
           if key not in ("intent", "faq") and old.get(key) != new.get(key)]
    for name in ("intent", "faq"):
        out += _weight_differences(name, old[name], new[name])
    return out + _prediction_differences(data_dir, committed, retrained, sets)


def check(data_dir: Path, sets: Sequence[Path], log: Callable[[str], None] = print) -> int:
    """Both checks on the committed artefact of *data_dir* (retraining into a temp file); 0 when they hold."""
    committed = data_dir / MODEL_FILE
    stale = staleness(data_dir, json.loads(committed.read_text("utf-8")))
    if stale:
        log(f"STALE: {committed}: " + "; ".join(stale) + f". Run `{TRAIN_COMMAND}` and commit the result.")
        return 1
    with tempfile.TemporaryDirectory(prefix="intents-check-") as tmp:
        retrained = train(data_dir, out=Path(tmp) / "retrained.json", log=lambda _line: None)
        found = differences(data_dir, committed, retrained, sets)
    if found:
        log(f"DIFFERENT: retraining gives another model than {committed}:")
        for line in found[:50]:
            log(f"  {line}")
        return 1
    log(f"OK: {committed} is current, and retraining gives the same model (weights within "
        f"{WEIGHT_TOLERANCE} unit, same predictions on {', '.join(p.name for p in sets)})")
    return 0
