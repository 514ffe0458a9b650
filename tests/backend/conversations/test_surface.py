"""What ``backend.conversations`` offers is used, and the masking helpers have one home."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("backend", "bot", "miniprogram_api")
MASKING = "backend.security.masking"


def _sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def test_every_public_function_of_conversations_has_a_caller() -> None:
    sources = _sources()
    unused = []
    for path in sorted((ROOT / "backend" / "conversations").glob("*.py")):
        tree = ast.parse(sources[path])
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                word = re.compile(rf"\b{node.name}\b")
                if not any(word.search(text) for other, text in sources.items() if other != path):
                    unused.append(f"{path.name}:{node.name}")
    assert unused == []


def test_masking_helpers_are_imported_from_their_own_module() -> None:
    """``scrub_text`` and ``scrub_slots`` live in backend.security.masking; no module passes them on."""
    relays = []
    for path, text in _sources().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module != MASKING and any(
                    alias.name in ("scrub_text", "scrub_slots") for alias in node.names):
                relays.append(f"{path.relative_to(ROOT)}: from {node.module}")
    assert relays == []
