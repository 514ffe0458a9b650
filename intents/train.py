"""Training: logistic regression (scikit-learn, training only) exported to a compact JSON artefact.

Deterministic on one machine: same data → byte-identical artefact (sorted vocabularies, lbfgs, one thread,
rounded weights, no timestamps). On another CPU the floating-point order of the numeric kernels differs;
lbfgs runs to a tight tolerance (``TOL``) so that the optimum, not the path to it, decides the weights, and
only weights on a rounding boundary land one unit (1/1000) away: ``intents.reproduce`` says what must hold
everywhere.
The artefact records the digest of its data files and every training setting (``params``), so a stale
artefact is caught without retraining. ``python -m intents train``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from intents.features import FEATURE_VERSION, Lexicon, Tokenizer, features
from intents.model import LEXICON_FILE, MODEL_FILE, MODEL_FORMAT
from intents.normalize import Normalizer
from intents.slots import SlotExtractor

# the reference day for slot features at training time (only whether a slot is present matters)
FEATURE_DAY = date(2026, 6, 15)
INTENT_C = 40.0
FAQ_C = 40.0
MIN_DF = 2
# a message phrased as a question (能上门吗) rather than a request (请上门): see faq.yaml question_topics
_RE_QUESTION = re.compile(r"吗|嘛|[?？]|无$|能不能|可不可以|可以不|会不会|有没有|行不行|多久|几时|"
                          r"几天|怎么|什么|哪|收费|要钱")
CLASS_WEIGHT = ""  # "" (every example counts the same) or "balanced"
DECIMALS = 3
MAX_ITER = 5000
# Converge to the optimum itself, not near it: at 1e-6 the order in which rows are summed (another CPU's
# kernels, or the same rows shuffled) moved weights by up to 6 units; at 1e-10 at most one unit, and only
# for the few weights that sit on a rounding boundary (measured: 61 of 245,040 intent weights), for about
# 1.7x the training time. The row-order test in tests/intents/test_cli.py holds this.
TOL = 1e-10
FOLDS = 5  # threshold calibration
CALIBRATION_SPLITS = 3  # shuffles into folds, their costs summed (a stable threshold)
THRESHOLD_GRID = (5, 90)  # candidate thresholds step/100 for step in range(*THRESHOLD_GRID)
NONE_TOPIC = "_none"
# faq.yaml ``product_questions``: general questions about a service rule (how long, which channels, who
# can get a home visit...) train this intent; ``questions`` train the topic's own ``intent``.
PRODUCT_QUESTION = "product_question"
# Cost of accepting a wrong intent relative to asking back about a right one (threshold calibration).
WRONG_COST = 3.0


MESSAGES_DIR = "messages"  # training/messages/*.yaml: labelled messages in the evaluation format


def message_files(data_dir: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """``training/messages/*.yaml`` (labelled messages: text, intent, faq, slots), sorted; files whose
    name starts with one of *exclude* (an author's prefix such as ``A-``) are left out."""
    return [p for p in sorted((data_dir / "training" / MESSAGES_DIR).glob("*.yaml"))
            if not p.name.startswith(exclude)]


def load_messages(data_dir: Path, exclude: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    """(text, intent, FAQ label) of the labelled messages; the FAQ label is ``_none`` when null."""
    out: list[tuple[str, str, str]] = []
    for path in message_files(data_dir, exclude):
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        for m in raw["messages"]:
            out.append((str(m["text"]), str(m["intent"]), str(m.get("faq") or NONE_TOPIC)))
    return out


def load_training(data_dir: Path, exclude: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(text, intent) pairs from ``training/<intent>.yaml``, the labelled messages and the FAQ questions
    (``questions`` → the topic's intent, ``product_questions`` → product_question), deduplicated, sorted."""
    pairs: set[tuple[str, str]] = set()
    for path in sorted((data_dir / "training").glob("*.yaml")):
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        for ex in raw["examples"]:
            pairs.add((str(ex), str(raw["intent"])))
    pairs.update((t, i) for t, i, _ in load_messages(data_dir, exclude))
    for topic in load_faq(data_dir)["topics"].values():
        for q in topic["questions"]:
            pairs.add((str(q), str(topic["intent"])))
        for q in topic.get("product_questions") or []:
            pairs.add((str(q), PRODUCT_QUESTION))
    return sorted(pairs)


def load_faq(data_dir: Path) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((data_dir / "faq.yaml").read_text(encoding="utf-8"))
    return raw


def faq_training(data_dir: Path, intent_pairs: list[tuple[str, str]],
                 exclude: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(text, topic) pairs: FAQ questions, the labelled messages with their own FAQ label, plus the other
    intent examples: an intent listed in ``faq.yaml: intent_topics`` (every message of it is about that
    topic, e.g. claim_materials) trains its topic; one listed in ``question_topics`` trains its topic when
    the example is a question (能上门吗) and ``_none`` when it is a request (请上门); the rest ``_none``.
    A complaint or a request for the phone number is not a question about the complaint process or the
    opening hours; only the topic's own questions and labelled messages teach that."""
    faq = load_faq(data_dir)
    intent_topics = {str(k): str(v) for k, v in (faq.get("intent_topics") or {}).items()}
    question_topics = {str(k): str(v) for k, v in (faq.get("question_topics") or {}).items()}
    pairs: set[tuple[str, str]] = set()
    for tid, topic in faq["topics"].items():
        for q in list(topic["questions"]) + list(topic.get("product_questions") or []):
            pairs.add((str(q), str(tid)))
    labelled = load_messages(data_dir, exclude)
    pairs.update((t, lab) for t, _, lab in labelled)
    known = {t for t, _ in pairs}
    for text, intent in intent_pairs:
        if text in known:
            continue
        if intent in intent_topics:
            pairs.add((text, intent_topics[intent]))
        elif intent in question_topics and _RE_QUESTION.search(text):
            pairs.add((text, question_topics[intent]))
        elif intent != PRODUCT_QUESTION:
            pairs.add((text, NONE_TOPIC))
    return sorted(pairs)


def training_params() -> dict[str, Any]:
    """Every setting of the training code that shapes the artefact (stored in it, checked against it)."""
    return {"intent_C": INTENT_C, "faq_C": FAQ_C, "min_df": MIN_DF, "decimals": DECIMALS,
            "max_iter": MAX_ITER, "tol": TOL, "calibration_folds": FOLDS, "wrong_cost": WRONG_COST,
            "calibration_splits": CALIBRATION_SPLITS,
            "threshold_grid": list(THRESHOLD_GRID), "none_topic": NONE_TOPIC,
            "product_question": PRODUCT_QUESTION, "class_weight": CLASS_WEIGHT,
            "feature_day": FEATURE_DAY.isoformat(), "faq_question_pattern": _RE_QUESTION.pattern,
            "feature_version": FEATURE_VERSION}


def data_digest(data_dir: Path) -> str:
    """SHA-256 over the data files training reads (names and bytes)."""
    h = hashlib.sha256()
    names = ("faq.yaml", "normalize.yaml", "t2s_chars.txt", "jieba_userdict.txt", LEXICON_FILE, "slots.yaml")
    files = sorted((data_dir / "training").glob("*.yaml")) + message_files(data_dir) + [
        data_dir / n for n in names if (data_dir / n).exists()]
    for p in files:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


class Featurizer:
    def __init__(self, data_dir: Path) -> None:
        self.norm = Normalizer.load(data_dir)
        self.tok = Tokenizer(data_dir / "jieba_userdict.txt")
        self.lexicon = Lexicon.load(data_dir / LEXICON_FILE)
        self.slots = SlotExtractor.load(data_dir)
        self._cache: dict[str, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        if text not in self._cache:
            n = self.norm(text)
            self._cache[text] = features(n, self.tok.cut(n) if n else [], self.lexicon,
                                         self.slots.draft(n, FEATURE_DAY).features())
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
    clf = LogisticRegression(C=c, max_iter=MAX_ITER, tol=TOL, class_weight=CLASS_WEIGHT or None)
    # One thread: on a shared small machine OpenMP/BLAS threads oversubscribe (many times slower),
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
    """Cross-validated threshold: minimise WRONG_COST × wrong-accepted + right-rejected, summed over
    CALIBRATION_SPLITS fixed shuffles into folds. One split's cost curve is flat and noisy near its
    minimum: a few added examples moved its best threshold from 0.64 to 0.69 (the split by row order),
    while three shuffled splits agree on 0.66 (each 0.63-0.66)."""
    import random

    from intents.model import LinearModel

    oof: list[tuple[float, bool]] = []
    for split in range(CALIBRATION_SPLITS):
        order = list(range(len(rows)))
        random.Random(split).shuffle(order)  # the same shuffle on every machine
        fold_of = {i: n % folds for n, i in enumerate(order)}
        for k in range(folds):
            test = [i for i in range(len(rows)) if fold_of[i] == k]
            train = [i for i in range(len(rows)) if fold_of[i] != k]
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


def build_artefact(data_dir: Path, *, exclude: tuple[str, ...] = (), calibrate: bool = True,
                   log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train both models; the artefact as a dict. *exclude*: labelled-message file prefixes to leave out
    (cross-author evaluation); without *calibrate* the threshold is not cross-validated (faster)."""
    fz = Featurizer(data_dir)
    pairs = load_training(data_dir, exclude)
    rows = [fz(t) for t, _ in pairs]
    labels = [lab for _, lab in pairs]
    log(f"intent examples: {len(pairs)}")
    intent_model = fit_linear(rows, labels, INTENT_C, MIN_DF)
    if calibrate:
        threshold, stats = calibrate_threshold(rows, labels)
        intent_model["threshold"] = threshold
        intent_model["calibration"] = stats
        log(f"threshold {threshold} {stats}")
    else:
        intent_model["threshold"] = 0.5
    fpairs = faq_training(data_dir, pairs, exclude)
    frows = [fz(t) for t, _ in fpairs]
    faq_feats = {f for (t, lab), r in zip(fpairs, frows, strict=False) if lab != NONE_TOPIC for f in r}
    faq_model = fit_linear(frows, [lab for _, lab in fpairs], FAQ_C, MIN_DF, always=faq_feats)
    log(f"faq examples: {len(fpairs)}")
    return {"format": MODEL_FORMAT, "version": 1, "data_sha256": data_digest(data_dir),
            "examples": {"intent": len(pairs), "faq": len(fpairs)},
            "params": training_params(),
            "intent": intent_model, "faq": faq_model}


def write_artefact(artefact: dict[str, Any], out: Path) -> Path:
    """Write *artefact* atomically to *out* (one entry per line)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(dump_artefact(artefact) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


def train(data_dir: Path, out: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Train both models and write the artefact; returns its path."""
    out = write_artefact(build_artefact(data_dir, log=log), out or data_dir / MODEL_FILE)
    obj = json.loads(out.read_text(encoding="utf-8"))
    log(f"wrote {out} ({out.stat().st_size} bytes, {len(obj['intent']['weights'])} intent features, "
        f"{len(obj['faq']['weights'])} faq features)")
    return out
