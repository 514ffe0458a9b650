"""Every YAML file under config/ loads without a key given twice in one mapping: PyYAML keeps the last
silently, so a list added again further down replaced the first (what_now_words, approved_words and a
second wrong_words in config/dialogue.yaml did, until this test). Nor a key YAML 1.1 reads as a
boolean or null: the English word ``on`` in normalize.yaml was loaded as ``True`` and never matched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

CONFIG = Path(__file__).resolve().parent.parent / "config"


class _StrictLoader(yaml.SafeLoader):
    pass


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if isinstance(key, bool) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key_node.value!r} is read as {key!r}: quote it", key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice",
                                                    key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@pytest.mark.parametrize("path", sorted(CONFIG.rglob("*.yaml")), ids=lambda p: str(p.relative_to(CONFIG)))
def test_no_key_is_given_twice(path: Path) -> None:
    yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)


def test_the_check_finds_a_key_given_twice() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="given twice"):
        yaml.load("a: [1]\nb: 2\na: [3]\n", Loader=_StrictLoader)


@pytest.mark.parametrize("word", ["on", "yes", "No", "off", "~"])
def test_the_check_finds_a_key_read_as_a_boolean(word: str) -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="quote it"):
        yaml.load(f"english:\n  {word}: x\n", Loader=_StrictLoader)
