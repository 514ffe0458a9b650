"""Eligibility by ID number: age, cover start on the 1st of the next month, not found."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from backend.products.schemas import Product
from backend.roster.service import cover_start_for, eligibility, verify_identity
from backend.security.crypto import FieldCipher
from tests.backend.roster.helpers import csv_bytes, make_id

SCHEME_START = dt.date(2026, 1, 1)


def check(db: Session, cipher: FieldCipher, product: Product, number: str, on: dt.date) -> Any:
    return eligibility(db, cipher=cipher, id_number=number, on=on, product=product)


def test_turning_60_is_covered_from_the_first_of_next_month(
    db: Session, do_import: Any, cipher: FieldCipher, product: Product
) -> None:
    number = make_id(dt.date(1966, 6, 15), seq=11)  # turns 60 on 2026-06-15
    do_import(csv_bytes(f"黄秀英,{number},潮南区,,"))
    at_59 = check(db, cipher, product, number, dt.date(2026, 6, 14))
    assert at_59.found and not at_59.eligible and at_59.code == "under_age"
    assert at_59.cover_start == dt.date(2026, 7, 1)
    assert "2026年7月1日" in at_59.reason and "60" in at_59.reason
    at_60 = check(db, cipher, product, number, dt.date(2026, 6, 20))  # 60, cover not started yet
    assert at_60.code == "not_started" and not at_60.eligible
    covered = check(db, cipher, product, number, dt.date(2026, 7, 1))
    assert covered.eligible and covered.code == "eligible"
    assert covered.masked_name == "黄*英" and covered.person_id is not None
    assert number not in repr(covered)


def test_birthday_on_the_first_of_a_month_starts_the_month_after(
    db: Session, do_import: Any, cipher: FieldCipher, product: Product
) -> None:
    number = make_id(dt.date(1966, 3, 1), seq=13)
    do_import(csv_bytes(f"林木,{number},潮南区,,"))
    assert check(db, cipher, product, number, dt.date(2026, 3, 31)).code == "not_started"
    result = check(db, cipher, product, number, dt.date(2026, 4, 1))
    assert result.eligible and result.cover_start == dt.date(2026, 4, 1)


def test_already_60_before_the_scheme_is_covered_from_the_scheme_start(
    db: Session, do_import: Any, cipher: FieldCipher, product: Product
) -> None:
    number = make_id(dt.date(1940, 2, 2), seq=15)
    do_import(csv_bytes(f"郑伯,{number},潮南区,,"))
    assert check(db, cipher, product, number, dt.date(2025, 12, 31)).code == "not_started"
    result = check(db, cipher, product, number, SCHEME_START)
    assert result.eligible and result.cover_start == SCHEME_START


def test_not_found_and_invalid_ids(db: Session, do_import: Any, cipher: FieldCipher,
                                   product: Product) -> None:
    listed = make_id(dt.date(1950, 1, 1), seq=17)
    do_import(csv_bytes(f"张三,{listed},潮南区,,"))
    missing = check(db, cipher, product, make_id(dt.date(1950, 1, 1), seq=19), dt.date(2026, 6, 1))
    assert (missing.found, missing.eligible, missing.code) == (False, False, "not_found")
    assert "没有查到" in missing.reason
    bad = check(db, cipher, product, listed[:17] + ("1" if listed[17] != "1" else "2"), dt.date(2026, 6, 1))
    assert (bad.found, bad.code) == (False, "id_checksum")
    lower = check(db, cipher, product, listed.lower(), dt.date(2026, 6, 1))
    assert lower.eligible


def test_identity_needs_the_id_number_and_the_exact_name(
    db: Session, do_import: Any, cipher: FieldCipher, product: Product
) -> None:
    number = make_id(dt.date(1950, 3, 12), seq=21)
    do_import(csv_bytes(f"张秀英,{number},潮南区,,"))
    on = dt.date(2026, 6, 1)

    def verify(id_number: str, name: str) -> Any:
        return verify_identity(db, cipher=cipher, id_number=id_number, name=name, on=on, product=product)

    found = verify(number, "张秀英")
    assert found is not None and found.eligible and found.masked_name == "张*英"
    assert found.person_id is not None
    assert verify(number.lower(), "张秀英") is not None
    # a wrong name, an unknown number, an invalid number: the same answer, nothing revealed
    for id_number, name in ((number, "张秀"), (number, "王大明"), (number, ""),
                            (make_id(dt.date(1950, 3, 12), seq=23), "张秀英"), (number[:17], "张秀英")):
        assert verify(id_number, name) is None


def test_cover_start_rule_examples(product: Product) -> None:
    def start(birth: dt.date) -> dt.date:
        return cover_start_for(birth_date=birth, product=product, scheme_start=SCHEME_START)

    assert start(dt.date(1965, 12, 31)) == dt.date(2026, 1, 1)  # 60 on 2025-12-31 → next month
    assert start(dt.date(1966, 1, 1)) == dt.date(2026, 2, 1)    # 60 on the scheme's first day
    assert start(dt.date(1966, 12, 5)) == dt.date(2027, 1, 1)   # across the year end
    assert start(dt.date(1966, 2, 28)) == dt.date(2026, 3, 1)
