"""Tokenizer (a private jieba instance) and the feature function shared by training and inference."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

from intents.wordre import words_pattern

_RE_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_RE_DROP = re.compile(r"[\s,.;:~\-、，。；：…·—_*#=+'\"“”‘’()（）【】\[\]<>《》/\\|@&%^$]+")
MAX_CHARS = 1000  # longer messages are cut before classification and slot extraction
# Version of the feature function below (stored in the artefact's training params, so a model trained
# on other features is reported stale). 2: no length bucket (it tied message length to out_of_scope: a
# short accident report without a request read as small talk; measured leaving one author out).
FEATURE_VERSION = 2


def cache_dir() -> Path:
    """Writable directory for jieba's prefix-dictionary cache (``INTENTS_CACHE_DIR`` overrides)."""
    env = os.environ.get("INTENTS_CACHE_DIR")
    candidates = [Path(env)] if env else []
    xdg = os.environ.get("XDG_CACHE_HOME")
    candidates.append(Path(xdg) / "intents" if xdg else Path.home() / ".cache" / "intents")
    candidates.append(Path(tempfile.gettempdir()) / f"intents-cache-{os.getuid() if hasattr(os, 'getuid') else 0}")  # noqa: E501
    for cand in candidates:
        try:
            cand.mkdir(parents=True, exist_ok=True)
            if os.access(cand, os.W_OK):
                return cand
        except OSError:
            continue
    return Path(tempfile.gettempdir())


def import_jieba() -> Any:
    """Import jieba without its import-time warnings (invalid escape sequences when it is compiled
    from source, pkg_resources deprecation) and silence its start-up log lines."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"invalid escape sequence", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"invalid escape sequence", category=SyntaxWarning)
        warnings.filterwarnings("ignore", message=r".*pkg_resources", category=UserWarning)
        warnings.filterwarnings("ignore", message=r".*pkg_resources", category=DeprecationWarning)
        import jieba
    logging.getLogger("jieba").setLevel(logging.WARNING)
    return jieba


class Tokenizer:
    """A dedicated ``jieba.Tokenizer`` with the insurance user dictionary and its own cache file."""

    def __init__(self, userdict: Path | None) -> None:
        jieba = import_jieba()
        tok = jieba.Tokenizer()
        tok.tmp_dir = str(cache_dir())
        tok.cache_file = "jieba-default.cache"
        tok.initialize()
        if userdict is not None and userdict.exists():
            with userdict.open(encoding="utf-8") as fh:
                for line in fh:
                    parts = line.split()
                    if parts and not parts[0].startswith("#"):
                        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                        tok.add_word(parts[0], freq)
        self._tok = tok

    def cut(self, text: str) -> list[str]:
        """Words of *text* (jieba precise mode, HMM on)."""
        return list(self._tok.cut(text))


class Lexicon:
    """Word classes of ``config/nlu/lexicon.yaml`` (other insurers, social security, scams...): a message
    containing any word of a class gets the feature ``@class``, so a word never seen in training
    (人保, 新农合) still counts as its class."""

    def __init__(self, classes: dict[str, list[str]]) -> None:
        self._classes: dict[str, list[str]] = {}
        for name, words in classes.items():
            for w in words:
                self._classes.setdefault(str(w), []).append("@" + str(name))
        self._re = re.compile(words_pattern(self._classes)) if self._classes else None

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """Read *path* (a mapping class → words); an absent file gives an empty lexicon."""
        if not path.exists():
            return cls({})
        import yaml

        with path.open(encoding="utf-8") as fh:
            raw: Any = yaml.safe_load(fh) or {}
        return cls({str(k): [str(w) for w in v] for k, v in raw.items()})

    def classes(self, norm: str) -> set[str]:
        """The ``@class`` features of normalized text *norm*."""
        if self._re is None:
            return set()
        return {c for m in self._re.finditer(norm) for c in self._classes[m.group(0)]}


def features(norm: str, words: list[str], lexicon: Lexicon | None = None,
             extra: list[str] | None = None) -> list[str]:
    """Distinct features of a normalized message: char 1-3-grams (with ^/$ edges for 2-grams),
    jieba words (``_`` prefix), lexicon classes (``@`` prefix), *extra* features (the slots found, ``$``
    prefix). Digit runs become ``0``. In no particular order (the models' integer
    weights sum the same in any order; training sorts what it needs)."""
    s = _RE_DROP.sub("", _RE_DIGITS.sub("0", norm))
    feats: set[str] = set()
    n = len(s)
    feats.update(s)
    padded = "^" + s + "$"
    feats.update(padded[i: i + 2] for i in range(n + 1))
    feats.update(s[i: i + 3] for i in range(n - 2))
    for w in words:
        if not w.isalpha():  # most words are Chinese characters only: nothing to replace
            w = _RE_DROP.sub("", _RE_DIGITS.sub("0", w))
        if len(w) > 1:
            feats.add("_" + w)
    if lexicon is not None:
        feats.update(lexicon.classes(norm))
    if extra:
        feats.update(extra)
    return list(feats)
