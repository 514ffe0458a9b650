"""Customer-facing sentences of the handoff, from ``config/dialogue.yaml`` (``text.handoff_*``)."""

from __future__ import annotations

import functools
from typing import Any

import yaml

from config.settings import CONFIG_DIR


@functools.lru_cache(maxsize=1)
def _texts() -> dict[str, str]:
    data: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "dialogue.yaml").read_text(encoding="utf-8"))
    return {k: str(v) for k, v in data["text"].items() if k.startswith("handoff_")}


def text(key: str, **values: Any) -> str:
    """The sentence ``key`` with its placeholders filled."""
    return _texts()[key].format(**values)
