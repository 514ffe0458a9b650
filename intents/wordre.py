"""A regular expression for a large set of literal words, built as a trie (阿(?:公|嬷|母)…).

Python's ``re`` tries an alternation of hundreds of words one by one at every position; the trie form
shares prefixes and is faster
(``tests/bench/bench_intents.py`` times the NLU). At each position the longest word wins, as with an
alternation sorted longest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def words_pattern(words: Iterable[str]) -> str:
    """Regex source matching any of *words*, longest first at a position ("" for no words)."""
    trie: dict[str, Any] = {}
    for w in words:
        if not w:
            continue
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = True
    return _build(trie)


def _build(node: dict[str, Any]) -> str:
    alts = [re.escape(ch) + _build(child) for ch, child in sorted(node.items()) if ch != ""]
    if not alts:
        return ""
    body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
    if "" in node:  # a word ends here: the longer continuations are optional (greedy, so tried first)
        return "(?:" + "|".join(alts) + ")?"
    return body
