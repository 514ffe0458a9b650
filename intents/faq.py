"""FAQ answer rendering from product data.

Placeholders in ``config/nlu/faq.yaml`` answers:

* ``{a.b.c}``: the value at that path of the product dict (list → joined with 、, a list of
  ``{label: ...}`` items → their labels, ``True`` → 是);
* ``{a.b*c.d}``: the product of two numeric values (e.g. the yearly allowance maximum);
* ``{a.b|text}``: *text* when the value is missing or null.

A topic may also have ``when_missing: {path: other answer}``: the whole answer is replaced
when that path is null, so a missing number is never invented.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_RE_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.*]*)(?:\|([^{}]*))?\}")
_MISSING = object()


class RenderError(KeyError):
    """A placeholder names a path that the product data does not have (and has no fallback)."""


def lookup(product: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted *path* of *product*; integer-looking parts also try int keys."""
    cur: Any = product
    for part in path.split("."):
        if isinstance(cur, Mapping):
            if part in cur:
                cur = cur[part]
            elif part.isdigit() and int(part) in cur:
                cur = cur[int(part)]
            else:
                return _MISSING
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
    return cur


def format_value(value: Any) -> str:
    """Plain-Chinese text for a product value."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, list):
        return "、".join(format_value(v["label"]) if isinstance(v, Mapping) and "label" in v else format_value(v)  # noqa: E501
                        for v in value)
    if isinstance(value, Mapping):
        return "，".join(f"{k}：{format_value(v)}" for k, v in value.items())
    return str(value)


def _value(product: Mapping[str, Any], expr: str) -> Any:
    if "*" in expr:
        total: Any = 1
        for part in expr.split("*"):
            v = lookup(product, part)
            if v is _MISSING or v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
                return _MISSING if v is _MISSING else None
            total *= v
        return total
    return lookup(product, expr)


# YAML folds a long answer's lines with spaces; Chinese sets no space after a character or a full stop.
_RE_CJK_GAP = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff01-\uff1f])[ \t]+")


def render_answer(spec: Mapping[str, Any], product: Mapping[str, Any]) -> str:
    """Render one FAQ topic spec (``answer`` and optional ``when_missing``) with *product*."""
    for path, alternative in (spec.get("when_missing") or {}).items():
        v = _value(product, str(path))
        if v is None or v is _MISSING or v == []:
            return render_text(str(alternative), product)
    return render_text(str(spec["answer"]), product)


def render_text(template: str, product: Mapping[str, Any]) -> str:
    """Fill the placeholders of *template*."""

    def sub(m: re.Match[str]) -> str:
        v = _value(product, m.group(1))
        if v is None or v is _MISSING or v == []:
            if m.group(2) is not None:
                return m.group(2)
            raise RenderError(f"product data has no value for {m.group(1)!r}")
        return format_value(v)

    return _RE_CJK_GAP.sub("", _RE_PLACEHOLDER.sub(sub, template)).strip()
