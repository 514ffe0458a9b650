"""FAQ search for customers typing a question (the NLU library's FAQ model, answers from the product)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from backend.products.service import ProductCatalog
from config.settings import CONFIG_DIR
from intents import NLU

MAX_QUERY = 200


@dataclass(frozen=True, slots=True)
class FaqHit:
    """One answer: the topic, its title, the answer rendered from the product, and the model's score."""

    topic: str
    title: str
    answer: str
    score: float


@lru_cache(maxsize=1)
def _titles() -> dict[str, str]:
    data: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "dialogue.yaml").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in (data.get("faq_topic_labels") or {}).items()}


def search_faq(
    *,
    nlu: NLU,
    catalog: ProductCatalog,
    text: str,
    product_id: str | None = None,
    limit: int = 3,
    min_score: float = 0.05,
) -> list[FaqHit]:
    """The best FAQ answers for ``text`` (at most ``limit``; none under ``min_score``)."""
    product = catalog.get(product_id)
    data = catalog.raw_data(product.id)
    pred = nlu.predict(text[:MAX_QUERY])
    hits = []
    for topic, score in pred.faq_ranking[:limit]:
        if score < min_score:
            continue
        try:
            answer = nlu.faq_answer(topic, data)
        except KeyError:
            continue
        hits.append(
            FaqHit(topic=topic, title=_titles().get(topic, topic), answer=answer, score=round(score, 4))
        )
    return hits
