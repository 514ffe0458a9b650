"""D-01: after an import, no plaintext ID number, phone or name appears anywhere in the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.model_registry import metadata
from tests.backend.roster.helpers import csv_bytes, make_id

PEOPLE = [
    ("欧阳晓明", make_id(dt.date(1948, 8, 8), seq=555), "13912345678", "潮南区两英镇和平路88号"),
    ("陈淑贞", make_id(dt.date(1955, 5, 5), seq=556), "15812349876", "潮南区陈店镇文光村"),
]


def dump_database(db: Session) -> str:
    """Every row of every table as text (like grepping a dump)."""
    parts = []
    for table in metadata.sorted_tables:
        for row in db.execute(select(table)).all():
            parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_d01_no_plaintext_private_values_in_any_table(db: Session, do_import: Any) -> None:
    rep = do_import(csv_bytes(*[f"{n},{i},潮南区,{p},{a}" for n, i, p, a in PEOPLE]))
    assert rep.imported_new == len(PEOPLE)
    db.flush()
    dump = dump_database(db)
    assert "潮南区" in dump  # the dump does read the roster (the district is in clear)
    for name, id_number, phone, address in PEOPLE:
        for value in (name, id_number, phone, address, id_number[-8:], phone[-8:]):
            assert value not in dump, f"plaintext found: {value[:2]}…"


def test_d01_raw_sql_dump_has_no_plaintext(db: Session, do_import: Any) -> None:
    do_import(csv_bytes(*[f"{n},{i},潮南区,{p},{a}" for n, i, p, a in PEOPLE]))
    db.flush()
    raw = "\n".join(repr(r) for r in db.execute(text("SELECT * FROM roster_people")).all())
    raw += "\n".join(repr(r) for r in db.execute(text("SELECT * FROM roster_imports")).all())
    assert raw
    for name, id_number, phone, _address in PEOPLE:
        assert name not in raw and id_number not in raw and phone not in raw
