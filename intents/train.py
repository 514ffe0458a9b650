"""Training: logistic regression (scikit-learn, training only) exported to a compact JSON artefact.

Deterministic on one machine: same data → byte-identical artefact (sorted vocabularies, lbfgs, one thread,
rounded weights, no timestamps). On another CPU the floating-point order of the numeric kernels differs
and a few weights land one unit (1/1000) away: ``intents.reproduce`` says what must hold everywhere.
The artefact records the digest of its data files and every training setting (``params``), so a stale
artefact is caught without retraining. ``python -m intents train``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from intents.features import Tokenizer, features
from intents.model import MODEL_FILE, MODEL_FORMAT
from intents.normalize import Normalizer

INTENT_C = 20.0
FAQ_C = 20.0
MIN_DF = 2
DECIMALS = 3
MAX_ITER = 5000
TOL = 1e-6
FOLDS = 5  # threshold calibration
THRESHOLD_GRID = (5, 90)  # candidate thresholds step/100 for step in range(*THRESHOLD_GRID)
NONE_TOPIC = "_none"
# faq.yaml ``product_questions``: general questions about a service rule (how long, which channels, who
# can get a home visit...) train this intent; ``questions`` train the topic's own ``intent``.
PRODUCT_QUESTION = "product_question"
# Cost of accepting a wrong intent relative to asking back about a right one (threshold calibration).
WRONG_COST = 3.0
_QUESTION_MARKS = ("怎么", "吗", "多少", "哪", "什么", "能不能", "可以", "?", "有没有", "几")


def load_training(data_dir: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs from ``training/*.yaml`` and the FAQ questions (``questions`` → the topic's
    intent, ``product_questions`` → product_question), deduplicated, sorted."""
    pairs: set[tuple[str, str]] = set()
    for path in sorted((data_dir / "training").glob("*.yaml")):
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        for ex in raw["examples"]:
            pairs.add((str(ex), str(raw["intent"])))
    for topic in load_faq(data_dir)["topics"].values():
        for q in topic["questions"]:
            pairs.add((str(q), str(topic["intent"])))
        for q in topic.get("product_questions") or []:
            pairs.add((str(q), PRODUCT_QUESTION))
    return sorted(pairs)


def load_faq(data_dir: Path) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((data_dir / "faq.yaml").read_text(encoding="utf-8"))
    return raw


def faq_training(data_dir: Path, intent_pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(text, topic) pairs: FAQ questions, plus intent examples mapped to a topic or to ``_none``."""
    faq = load_faq(data_dir)
    with_faq = set(faq["intents_with_faq"])
    by_intent: dict[str, list[str]] = {}
    pairs: set[tuple[str, str]] = set()
    for tid, topic in faq["topics"].items():
        by_intent.setdefault(str(topic["intent"]), []).append(str(tid))
        for q in list(topic["questions"]) + list(topic.get("product_questions") or []):
            pairs.add((str(q), str(tid)))
    for text, intent in intent_pairs:
        topics = by_intent.get(intent, [])
        if intent not in with_faq or (intent == "claim_report" and not any(m in text for m in _QUESTION_MARKS)):  # noqa: E501
            pairs.add((text, NONE_TOPIC))
        elif len(topics) == 1 and intent != "product_question":
            pairs.add((text, topics[0]))
    return sorted(pairs)


def training_params() -> dict[str, Any]:
    """Every setting of the training code that shapes the artefact (stored in it, checked against it)."""
    return {"intent_C": INTENT_C, "faq_C": FAQ_C, "min_df": MIN_DF, "decimals": DECIMALS,
            "max_iter": MAX_ITER, "tol": TOL, "calibration_folds": FOLDS, "wrong_cost": WRONG_COST,
            "threshold_grid": list(THRESHOLD_GRID), "none_topic": NONE_TOPIC,
            "product_question": PRODUCT_QUESTION, "question_marks": list(_QUESTION_MARKS)}


def data_digest(data_dir: Path) -> str:
    """SHA-256 over the data files training reads (names and bytes)."""
    h = hashlib.sha256()
    files = sorted((data_dir / "training").glob("*.yaml")) + [
        data_dir / n for n in ("faq.yaml", "normalize.yaml", "t2s_chars.txt", "jieba_userdict.txt")]
    for p in files:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


class Featurizer:
    def __init__(self, data_dir: Path) -> None:
        self.norm = Normalizer.load(data_dir)
        self.tok = Tokenizer(data_dir / "jieba_userdict.txt")
        self._cache: dict[str, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        if text not in self._cache:
            n = self.norm(text)
            self._cache[text] = features(n, self.tok.cut(n) if n else [])
        return self._cache[text]


def _matrix(rows: list[list[str]], vocab: dict[str, int]) -> Any:
    from scipy.sparse import csr_matrix

    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for feats in rows:
        idx = sorted({vocab[f] for f in feats if f in vocab})
        if idx:
            v = 1.0 / len(idx) ** 0.5
            indices.extend(idx)
            data.extend([v] * len(idx))
        indptr.append(len(indices))
    return csr_matrix((data, indices, indptr), shape=(len(rows), len(vocab)))


def _vocab(rows: list[list[str]], min_df: int, always: set[str] | None = None) -> dict[str, int]:
    df: dict[str, int] = {}
    for feats in rows:
        for f in set(feats):
            df[f] = df.get(f, 0) + 1
    keep = sorted(f for f, c in df.items() if c >= min_df or (always is not None and f in always))
    return {f: i for i, f in enumerate(keep)}


def fit_linear(rows: list[list[str]], labels: list[str], c: float, min_df: int,
               always: set[str] | None = None) -> dict[str, Any]:
    """Fit multinomial LR; return the JSON-ready model (classes, bias, weights)."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    vocab = _vocab(rows, min_df, always)
    classes = sorted(set(labels))
    clf = LogisticRegression(C=c, max_iter=MAX_ITER, tol=TOL)
    # One thread: on a shared 2-core machine OpenMP/BLAS threads oversubscribe (measured 17× slower),
    # and a single thread also keeps the floating-point reduction order, hence the artefact, fixed.
    with threadpool_limits(limits=1):
        clf.fit(_matrix(rows, vocab), [classes.index(lab) for lab in labels])
    coef = clf.coef_
    scale = 10**DECIMALS  # weights are stored as integers in units of 1/scale
    weights: dict[str, list[int]] = {}
    for f, i in vocab.items():
        row = [round(float(x) * scale) for x in coef[:, i]]
        if any(row):
            weights[f] = row
    return {"classes": classes, "scale": scale, "bias": [round(float(b) * scale) for b in clf.intercept_],
            "weights": weights}


def calibrate_threshold(rows: list[list[str]], labels: list[str], folds: int = FOLDS) -> tuple[float, dict[str, float]]:  # noqa: E501
    """Cross-validated threshold: minimise WRONG_COST × wrong-accepted + right-rejected."""
    from intents.model import LinearModel

    order = list(range(len(rows)))
    oof: list[tuple[float, bool]] = []
    for k in range(folds):
        test = [i for i in order if i % folds == k]
        train = [i for i in order if i % folds != k]
        m = LinearModel.from_json(fit_linear([rows[i] for i in train], [labels[i] for i in train], INTENT_C, MIN_DF))  # noqa: E501
        for i in test:
            p = m.proba(rows[i])
            b = max(range(len(p)), key=p.__getitem__)
            oof.append((p[b], m.classes[b] == labels[i]))
    best_t, best_cost = 0.0, float("inf")
    for step in range(*THRESHOLD_GRID):
        t = step / 100
        cost = sum(WRONG_COST for conf, ok in oof if conf >= t and not ok) + sum(1 for conf, ok in oof if conf < t and ok)  # noqa: E501
        if cost < best_cost:
            best_t, best_cost = t, cost
    acc = sum(ok for _, ok in oof) / len(oof)
    kept = [ok for conf, ok in oof if conf >= best_t]
    stats = {"cv_accuracy": round(acc, 4), "cv_accuracy_above_threshold": round(sum(kept) / max(1, len(kept)), 4),  # noqa: E501
             "cv_share_above_threshold": round(len(kept) / len(oof), 4)}
    return best_t, stats


def _compact(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def dump_artefact(obj: dict[str, Any], depth: int = 0) -> str:
    """JSON with one entry per line down to weight rows, so diffs of the artefact are readable."""
    parts = []
    for k in sorted(obj):
        v = obj[k]
        if isinstance(v, dict) and (depth == 0 or k == "weights"):
            inner = dump_artefact(v, depth + 1) if k != "weights" else "{\n" + ",\n".join(
                f"{_compact(f)}:{_compact(v[f])}" for f in sorted(v)) + "\n}"
            parts.append(f"{_compact(k)}:{inner}")
        else:
            parts.append(f"{_compact(k)}:{_compact(v)}")
    return "{\n" + ",\n".join(parts) + "\n}"


def train(data_dir: Path, out: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Train both models and write the artefact; returns its path."""
    out = out or data_dir / MODEL_FILE
    fz = Featurizer(data_dir)
    pairs = load_training(data_dir)
    rows = [fz(t) for t, _ in pairs]
    labels = [lab for _, lab in pairs]
    log(f"intent examples: {len(pairs)}")
    intent_model = fit_linear(rows, labels, INTENT_C, MIN_DF)
    threshold, stats = calibrate_threshold(rows, labels)
    intent_model["threshold"] = threshold
    intent_model["calibration"] = stats
    log(f"threshold {threshold} {stats}")
    fpairs = faq_training(data_dir, pairs)
    frows = [fz(t) for t, _ in fpairs]
    faq_feats = {f for (t, lab), r in zip(fpairs, frows, strict=False) if lab != NONE_TOPIC for f in r}
    faq_model = fit_linear(frows, [lab for _, lab in fpairs], FAQ_C, MIN_DF, always=faq_feats)
    log(f"faq examples: {len(fpairs)}")
    artefact = {"format": MODEL_FORMAT, "version": 1, "data_sha256": data_digest(data_dir),
                "examples": {"intent": len(pairs), "faq": len(fpairs)},
                "params": training_params(),
                "intent": intent_model, "faq": faq_model}
    out.parent.mkdir(parents=True, exist_ok=True)
    text = dump_artefact(artefact)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(out)
    log(f"wrote {out} ({out.stat().st_size} bytes, {len(intent_model['weights'])} intent features, "
        f"{len(faq_model['weights'])} faq features)")
    return out
