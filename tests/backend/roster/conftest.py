"""Roster test fixtures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from backend.products.schemas import Product
from backend.roster.service import ImportReport, import_roster
from backend.security.crypto import FieldCipher

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def product(catalog: Any) -> Product:
    result: Product = catalog.get("chaonan-elderly-accident")
    return result


@pytest.fixture
def do_import(db: Session, cipher: FieldCipher, product: Product) -> Any:
    """Import bytes as a roster file (today fixed at 2026-06-15)."""

    def run(data: bytes, *, file_name: str = "roster.csv") -> ImportReport:
        return import_roster(db, cipher=cipher, product=product, data=data, file_name=file_name,
                             actor="test", today=TODAY)

    return run
