"""Every reliability id the code, docs and tests cite (W-09, F-P2, ``test_…__w09``…) is explained in
``docs/reliability-ids.md``, so a newcomer needs nothing outside the repository."""

from __future__ import annotations

import re

from config.settings import REPO_ROOT

GLOSSARY = REPO_ROOT / "docs" / "reliability-ids.md"
SOURCES = ("backend", "bot", "intents", "config", "miniprogram_api", "tests", "docs")
CITED = re.compile(r"\b([WMADC])-(\d{2})\b|\bF-(WX|[RPW]\d)\b")
IN_TEST_NAME = re.compile(r"(?:\btest_|__)(?:([wmadc])(\d{2})|f_?([rpw])(\d))(?:_|\b)")


def cited_ids(text: str) -> set[str]:
    """The ids cited in a text, in their ``X-NN`` form."""
    ids = {f"{m[0]}-{m[1]}" if m[0] else f"F-{m[2]}" for m in CITED.findall(text)}
    for letter, number, fault, digit in IN_TEST_NAME.findall(text):
        ids.add(f"{letter.upper()}-{number}" if letter else f"F-{fault.upper()}{digit}")
    return ids


def test_cited_ids_are_recognised() -> None:
    text = "W-09; see F-P2 and F-WX. def test_f_p1_x(), test_fr2_y, test_d05_z, test_runs_once__w17()"
    assert cited_ids(text) == {"W-09", "F-P2", "F-WX", "F-P1", "F-R2", "D-05", "W-17"}


def test_every_cited_id_is_in_the_glossary() -> None:
    explained = set(re.findall(r"^- \*\*([A-Z]-\w+)\*\* ", GLOSSARY.read_text(encoding="utf-8"), re.M))
    cited: dict[str, str] = {}
    for top in SOURCES:
        for path in (REPO_ROOT / top).rglob("*"):
            if path.suffix not in {".py", ".md", ".yaml", ".yml"} or path == GLOSSARY:
                continue
            for ident in cited_ids(path.read_text(encoding="utf-8")):
                cited.setdefault(ident, str(path.relative_to(REPO_ROOT)))
    assert len(cited) >= 30
    missing = {ident: where for ident, where in cited.items() if ident not in explained}
    assert not missing, f"add these ids to docs/reliability-ids.md: {missing}"
