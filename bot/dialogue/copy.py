"""All customer-facing copy of the dialogue, read from ``config/dialogue.yaml``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from config.settings import CONFIG_DIR

DEFAULT_PATH = CONFIG_DIR / "dialogue.yaml"
_NEVER = re.compile(r"(?!)")  # an empty word list matches nothing


@dataclass(frozen=True)
class Copy:
    """The dialogue's texts and word lists."""

    data: dict[str, Any]
    _word_patterns: dict[str, re.Pattern[str]] = field(default_factory=dict, compare=False, repr=False)
    _prefixes: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)
    _group_patterns: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = field(
        default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> Copy:
        """Read and check the copy file."""
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("text"), dict):
            raise ValueError(f"{path}: needs a 'text' section")
        return cls(data=data)

    def t(self, key: str, **values: Any) -> str:
        """One text, with ``{placeholders}`` filled."""
        template = self.data["text"][key]
        return str(template).format(**values) if values else str(template)

    def table(self, key: str) -> Any:
        """A top-level section (word lists, label tables, numbers)."""
        return self.data[key]

    def label(self, section: str, key: str) -> str:
        """A label from a ``text`` sub-table such as ``cr_type_labels``."""
        return str(self.data["text"][section].get(key, key))

    def words(self, key: str) -> list[str]:
        """A word list."""
        return [str(w) for w in self.data.get(key) or []]

    def contains_any(self, key: str, text: str) -> bool:
        """True when ``text`` contains one of the words of list ``key``."""
        return self.word_pattern(key).search(text) is not None

    def word_pattern(self, key: str) -> re.Pattern[str]:
        """The regex that finds a word of list ``key``."""
        pattern = self._word_patterns.get(key)
        if pattern is None:  # one regex alternation per list, built once: several lists are tried a turn
            pattern = self._word_patterns[key] = _any_of(self.words(key))
        return pattern

    def starts_with_any(self, key: str, text: str) -> bool:
        """True when ``text`` starts with one of the words of list ``key``."""
        words = self._prefixes.get(key)
        if words is None:
            words = self._prefixes[key] = tuple(self.words(key))
        return text.startswith(words)

    def groups_in(self, key: str, text: str) -> list[str]:
        """The names of the word lists of table ``key`` (name → words) with a word in ``text``, in
        the table's order."""
        groups = self._group_patterns.get(key)
        if groups is None:
            groups = self._group_patterns[key] = tuple(
                (str(name), _any_of([str(w) for w in words or []])) for name, words in self.data[key].items())
        return [name for name, pattern in groups if pattern.search(text) is not None]

    def numbered(self, labels: list[str]) -> str:
        """``1. a`` lines and the "reply with a digit" hint."""
        lines = [f"{i}. {label}" for i, label in enumerate(labels, 1)]
        return "\n".join([*lines, self.t("reply_digit")])


def _any_of(words: list[str]) -> re.Pattern[str]:
    """One regex alternation of ``words`` (longest first), or a pattern that matches nothing."""
    ordered = sorted(set(words), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered))) if ordered else _NEVER

