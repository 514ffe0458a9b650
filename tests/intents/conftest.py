from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest

from intents import NLU

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "config" / "nlu"
NOW = datetime.fromisoformat("2026-11-21T10:00:00+08:00")
PRODUCT = ROOT / "config" / "products" / "chaonan-elderly-accident.yaml"
PY = sys.executable


@pytest.fixture(scope="session")
def nlu() -> NLU:
    return NLU.load(DATA)
