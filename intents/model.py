"""The NLU facade: load data and model, predict intent, FAQ topic and slots."""

from __future__ import annotations

import json
import math
import operator
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import yaml

from intents.context import Context, FollowUp
from intents.facts import MessageFacts, read_facts
from intents.faq import render_answer
from intents.features import MAX_CHARS, Lexicon, Tokenizer, features
from intents.normalize import Normalizer
from intents.slots import Draft, SlotExtractor, SlotValue

MODEL_FORMAT = "intents-linear-v1"
MODEL_FILE = "model/intent-model-v1.json"
LEXICON_FILE = "lexicon.yaml"
TRAIN_COMMAND = "python -m intents train"
SHANGHAI = ZoneInfo("Asia/Shanghai")
_SECOND = operator.itemgetter(1)


class ModelError(Exception):
    """The model artefact is missing or unreadable; the message names the file and the fix."""


def default_data_dir() -> Path:
    """``$INTENTS_DATA_DIR`` or ``<repo>/config/nlu``."""
    env = os.environ.get("INTENTS_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "config" / "nlu"


@dataclass(frozen=True)
class Prediction:
    """The NLU reading of one message."""

    text: str
    normalized: str
    intent: str
    confidence: float
    faq_topic: str | None
    faq_score: float
    slots: dict[str, SlotValue] = field(default_factory=dict)
    faq_ranking: tuple[tuple[str, float], ...] = ()
    facts: MessageFacts = field(default_factory=MessageFacts)
    follow_up: FollowUp = FollowUp.NONE  # how the previous turn's context was used (NONE: not at all)

    def to_json(self) -> dict[str, Any]:
        """The contract JSON object (a JSON-serialisable dict)."""
        faq = None if self.faq_topic is None else {"topic": self.faq_topic, "score": round(self.faq_score, 4)}
        return {"text": self.text, "intent": self.intent, "confidence": round(self.confidence, 4),
                "faq": faq, "slots": dict(self.slots)}


class LinearModel:
    """Multinomial logistic regression over binary, L2-normalised sparse features."""

    def __init__(self, classes: list[str], bias: list[float], weights: dict[str, list[float]],
                 unit: float = 1.0) -> None:
        self.classes = classes
        self.bias = bias
        self.weights = weights  # in units of ``unit`` (the artefact stores integers: it is half the size)
        self.unit = unit
        self._packed = _Packed.build(weights, len(classes))

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> LinearModel:
        classes = [str(c) for c in obj["classes"]]
        unit = 1.0 / float(obj.get("scale", 1))
        bias = [float(b) * unit for b in obj["bias"]]
        weights: dict[str, list[float]] = obj["weights"]
        if not isinstance(weights, dict):
            raise ValueError("weights must be an object")
        n = len(classes)
        if len(bias) != n or any(type(v) is not list or len(v) != n for v in weights.values()):
            raise ValueError("weight rows do not match the class list")
        return cls(classes, bias, weights, unit)

    def proba(self, feats: list[str]) -> list[float]:
        """Softmax probabilities for each class, in ``classes`` order."""
        packed = self._packed
        if packed is not None:
            scores = packed.scores(feats, self.bias, self.unit)
            if scores is not None:
                return _softmax(scores)
        rows = [r for r in map(self.weights.get, feats) if r is not None]
        if rows:
            scale = self.unit / math.sqrt(len(rows))
            scores = [b + scale * sum(col) for b, col in zip(self.bias, zip(*rows, strict=False), strict=False)]  # noqa: E501
        else:
            scores = list(self.bias)
        return _softmax(scores)


def _softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


class _Packed:
    """Integer weight rows packed one per Python int, a 64-bit lane per class (offset to be >= 0),
    so the rows of a message add up with one ``sum`` instead of a sum per class: the same integer
    sums, so the same scores to the last bit."""

    _LIMIT = 1 << 64

    def __init__(self, rows: dict[str, int], offset: int, span: int, n: int) -> None:
        self.rows = rows
        self.offset = offset  # added to every weight
        self.span = span  # the largest weight minus the smallest: the most one row adds to a lane
        self.format = f"<{n}Q"
        self.size = 8 * n

    @classmethod
    def build(cls, weights: dict[str, list[float]], n: int) -> _Packed | None:
        """None when a weight is not an integer (a model still being fitted) or out of range."""
        if not weights or n == 0:
            return None
        lo = hi = 0
        for row in weights.values():
            if len(row) != n or any(type(w) is not int for w in row):
                return None
            ints = cast(list[int], row)
            lo, hi = min(lo, *ints), max(hi, *ints)
        span = hi - lo
        if span >= 1 << 40:
            return None
        fmt = f"<{n}Q"
        rows = {f: int.from_bytes(struct.pack(fmt, *[int(w) - lo for w in row]), "little")
                for f, row in weights.items()}
        return cls(rows, -lo, span, n)

    def scores(self, feats: list[str], bias: list[float], unit: float) -> list[float] | None:
        """``bias + unit / sqrt(len(rows)) * sum(rows)`` per class, or None when it cannot be packed."""
        rows = [r for r in map(self.rows.get, feats) if r is not None]
        n = len(rows)
        if not n:
            return list(bias)
        if n * self.span >= self._LIMIT:
            return None
        shift = n * self.offset
        lanes = struct.unpack(self.format, sum(rows).to_bytes(self.size, "little"))
        scale = unit / math.sqrt(n)
        return [b + scale * (v - shift) for b, v in zip(bias, lanes, strict=False)]


class NLU:
    """Normalizer + intent model + FAQ retrieval + slot extraction, loaded from a data directory."""

    def __init__(self, *, data_dir: Path, normalizer: Normalizer, tokenizer: Tokenizer, slots: SlotExtractor,
                 intent_model: LinearModel, faq_model: LinearModel, low_confidence_threshold: float,
                 faq_min_score: float, faq_intents: frozenset[str], faq_answers: dict[str, dict[str, Any]],
                 model_meta: dict[str, Any],
                 faq_min_score_by_intent: Mapping[str, float] | None = None,
                 out_of_scope_min_probability: float = 0.0, lexicon: Lexicon | None = None,
                 faq_always: frozenset[str] = frozenset(), out_of_scope_min_ratio: float = 1.0) -> None:
        self.data_dir = data_dir
        self.lexicon = lexicon or Lexicon({})
        self.faq_always = faq_always
        self.normalizer = normalizer
        self.tokenizer = tokenizer
        self.slot_extractor = slots
        self.intent_model = intent_model
        self.faq_model = faq_model
        self.low_confidence_threshold = low_confidence_threshold
        self.faq_min_score = faq_min_score
        self.faq_min_score_by_intent = dict(faq_min_score_by_intent or {})
        self.faq_intents = faq_intents
        self.faq_answers = faq_answers
        self.model_meta = model_meta
        self.out_of_scope_min_probability = out_of_scope_min_probability
        self.out_of_scope_min_ratio = out_of_scope_min_ratio
        # the FAQ model's topics (classes not starting with "_") with their index, for the classes list
        self._topics: tuple[list[str] | None, list[tuple[int, str]]] = (None, [])

    @property
    def intents(self) -> list[str]:
        return list(self.intent_model.classes)

    @classmethod
    def load(cls, data_dir: Path | str | None = None, *, model_path: Path | str | None = None) -> NLU:
        """Load everything from *data_dir* (default: ``$INTENTS_DATA_DIR`` or ``config/nlu``).

        Raises ModelError (with the file name and the train command) when the model is missing or corrupt."""
        ddir = Path(data_dir) if data_dir is not None else default_data_dir()
        mpath = Path(model_path) if model_path is not None else ddir / MODEL_FILE
        model, intent_model, faq_model = read_model(mpath)
        with (ddir / "faq.yaml").open(encoding="utf-8") as fh:
            faq_raw: Any = yaml.safe_load(fh)
        answers = {str(k): dict(v) for k, v in faq_raw["topics"].items()}
        decision: Any = {}
        if (ddir / "decision.yaml").exists():
            with (ddir / "decision.yaml").open(encoding="utf-8") as fh:
                decision = yaml.safe_load(fh) or {}
        return cls(
            data_dir=ddir,
            normalizer=Normalizer.load(ddir),
            tokenizer=Tokenizer(ddir / "jieba_userdict.txt"),
            slots=SlotExtractor.load(ddir),
            intent_model=intent_model,
            faq_model=faq_model,
            low_confidence_threshold=float(model["intent"]["threshold"]),
            faq_min_score=float(faq_raw.get("min_score", 0.3)),
            faq_intents=frozenset(str(i) for i in faq_raw.get("intents_with_faq", [])),
            faq_answers=answers,
            model_meta={k: v for k, v in model.items() if k not in ("intent", "faq")},
            faq_min_score_by_intent={str(k): float(v)
                                     for k, v in (faq_raw.get("min_score_by_intent") or {}).items()},
            out_of_scope_min_probability=float(decision.get("out_of_scope_min_probability", 0.0)),
            out_of_scope_min_ratio=float(decision.get("out_of_scope_min_ratio", 1.0)),
            lexicon=Lexicon.load(ddir / LEXICON_FILE),
            faq_always=frozenset(str(i) for i in faq_raw.get("intents_always_with_faq") or []),
        )

    def analyse(self, text: str, today: date | None = None) -> tuple[str, list[str], Draft]:
        """Normalized text, its features and the intent-independent slots."""
        norm = self.normalizer(text[:MAX_CHARS])
        draft = self.slot_extractor.draft(norm, today or datetime.now(SHANGHAI).date())
        words = self.tokenizer.cut(norm) if norm else []
        return norm, features(norm, words, self.lexicon, draft.features()), draft

    def predict(self, text: str, now: datetime | None = None, context: Context | None = None) -> Prediction:
        """Intent, FAQ topic, slots and facts of one message; *now* (aware) resolves relative dates;
        *context* (the previous turn) helps read short follow-ups such as 那住院呢."""
        if now is None:
            now = datetime.now(SHANGHAI)
        elif now.tzinfo is not None:
            now = now.astimezone(SHANGHAI)
        norm, feats, draft = self.analyse(text, now.date())
        if not norm:
            return Prediction(text=text, normalized=norm, intent="out_of_scope", confidence=0.0,
                              faq_topic=None, faq_score=0.0, slots={})
        probs = self.intent_model.proba(feats)
        follow = (FollowUp.NONE if context is None
                  else context.follow_up_kind(norm, self.slot_extractor.without_people(norm)))
        if follow is not FollowUp.NONE and context is not None:
            probs = context.reweigh_intents(self.intent_model.classes, probs, follow)
        best = self._best(probs)
        intent = self.intent_model.classes[best]
        on_topic = follow in (FollowUp.MARKED, FollowUp.BARE) and bool(context and context.faq_topic)
        ranking: list[tuple[str, float]] = []
        topic: str | None = None
        score = 0.0
        if intent in self.faq_intents:  # the FAQ model only runs when the intent can have a topic
            ranking = self._faq_ranking(feats, context if follow is not FollowUp.NONE else None,
                                        topics_only=intent in self.faq_always or on_topic, follow=follow)
            if ranking and ranking[0][1] >= self.faq_min_score_by_intent.get(intent, self.faq_min_score):
                topic, score = ranking[0]
        reading = self.slot_extractor.finish(draft, intent)
        facts = read_facts(norm, lunar_date=reading.date.lunar, corrected=reading.corrected,
                           lunar_gregorian=reading.date.lunar_solar)
        return Prediction(text=text, normalized=norm, intent=intent, confidence=probs[best],
                          faq_topic=topic, faq_score=score, slots=reading.slots,
                          faq_ranking=tuple(ranking[:3]), facts=facts, follow_up=follow)

    def _best(self, probs: list[float]) -> int:
        """The winning class (decision.yaml): out_of_scope when its probability is at least
        ``out_of_scope_min_probability`` and at least ``out_of_scope_min_ratio`` times the best in-scope
        intent's (1.0: it must be the most probable); else the best in-scope intent."""
        classes = self.intent_model.classes
        if "out_of_scope" not in classes:
            return max(range(len(probs)), key=probs.__getitem__)
        oos = classes.index("out_of_scope")
        best_in = max((i for i in range(len(probs)) if i != oos), key=probs.__getitem__)
        p_oos = probs[oos]
        ratio = self.out_of_scope_min_ratio
        if p_oos >= self.out_of_scope_min_probability and p_oos >= ratio * probs[best_in]:
            return oos
        return best_in

    def _faq_ranking(self, feats: list[str], context: Context | None = None, k: int = 3,
                     topics_only: bool = False, follow: FollowUp = FollowUp.NONE) -> list[tuple[str, float]]:
        """The *k* best FAQ topics, best first (classes starting with ``_`` are not topics); a follow-up's
        *context* favours the previous topic. *topics_only*: probabilities renormalised over the topics
        (the message is known to be about one, e.g. a product question)."""
        probs = self.faq_model.proba(feats)
        if context is not None:
            probs = context.reweigh_topics(self.faq_model.classes, probs, follow)
        classes = self.faq_model.classes
        topics = self._topics
        if topics[0] is not classes:
            named = [(i, c) for i, c in enumerate(classes) if not c.startswith("_")]
            topics = self._topics = (classes, named)
        n = len(probs)
        pairs = [(c, probs[i]) for i, c in topics[1] if i < n]
        if topics_only:
            total = sum([p for _, p in pairs]) or 1.0
            pairs = [(c, p / total) for c, p in pairs]
        # what heapq.nlargest returns (its documented equivalent), faster for some twenty topics
        return sorted(pairs, key=_SECOND, reverse=True)[:max(k, 0)]

    def top_intents(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        """The *k* most likely intents with their probabilities, best first."""
        _, feats, _ = self.analyse(text)
        probs = self.intent_model.proba(feats)
        return sorted(zip(self.intent_model.classes, probs, strict=False), key=lambda p: -p[1])[:k]

    def faq_answer(self, topic_id: str, product: Mapping[str, Any]) -> str:
        """The answer for *topic_id* rendered from *product* (the product YAML as a dict)."""
        if topic_id not in self.faq_answers:
            raise KeyError(f"unknown FAQ topic {topic_id!r}")
        return render_answer(self.faq_answers[topic_id], product)


def read_model(path: Path) -> tuple[dict[str, Any], LinearModel, LinearModel]:
    """Read and check a model artefact; ModelError with a helpful message otherwise."""
    hint = f"run `{TRAIN_COMMAND}` to create it"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"NLU model file not found: {path} ({hint})") from None
    except OSError as exc:
        raise ModelError(f"NLU model file cannot be read: {path}: {exc.strerror} ({hint})") from None
    try:
        obj = json.loads(raw.decode("utf-8"))
        if not isinstance(obj, dict) or obj.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a {MODEL_FORMAT} artefact")
        intent_model = LinearModel.from_json(obj["intent"])
        faq_model = LinearModel.from_json(obj["faq"])
        float(obj["intent"]["threshold"])
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise ModelError(f"NLU model file is corrupt: {path} ({exc}); {hint}") from None
    return obj, intent_model, faq_model
