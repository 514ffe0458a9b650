"""Races on a real PostgreSQL: separate sessions in threads, committed for real, cleaned up after."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from backend.claims import service as svc
from backend.claims.models import CaseCounter, Claim, ClaimEvent, ClaimMaterial
from backend.claims.numbers import format_case_number, is_valid_case_number
from backend.errors import Conflict
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from tests.backend.claims.support import calendar, report_kwargs

AT = dt.datetime(2001, 1, 1, 2, tzinfo=dt.UTC)  # a day no other test uses


@pytest.fixture
def pg(postgres_engine: Engine) -> Iterator[Engine]:
    yield postgres_engine
    with Session(postgres_engine) as s, s.begin():
        ids = list(s.scalars(select(Claim.id).where(Claim.case_no.like("LP010101%"))))
        s.execute(delete(ClaimEvent).where(ClaimEvent.claim_id.in_(ids)))
        s.execute(delete(ClaimMaterial).where(ClaimMaterial.claim_id.in_(ids)))
        s.execute(delete(Claim).where(Claim.id.in_(ids)))
        s.execute(delete(CaseCounter).where(CaseCounter.day == "010101"))


def _report(
    engine: Engine,
    cipher: FieldCipher,
    catalog: ProductCatalog,
    out: list[str],
    errors: list[BaseException],
    barrier: threading.Barrier,
    key: str | None = None,
) -> None:
    try:
        barrier.wait()
        with Session(engine, expire_on_commit=False) as s, s.begin():
            claim = svc.report_claim(
                s,
                cipher=cipher,
                catalog=catalog,
                calendar=calendar(),
                **report_kwargs(now=AT, accident_date=dt.date(2000, 12, 31), idempotency_key=key),
            )
            out.append(claim.case_no)
    except BaseException as exc:
        errors.append(exc)


def test_case_numbers_unique_under_concurrent_reports(
    pg: Engine, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    n = 12
    out: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)
    threads = [
        threading.Thread(target=_report, args=(pg, cipher, catalog, out, errors, barrier)) for _ in range(n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(out) == sorted(format_case_number("LP", "010101", i) for i in range(1, n + 1))
    assert all(is_valid_case_number(c) for c in out)


def test_f_p2_concurrent_retries_with_one_idempotency_key_make_one_claim(
    pg: Engine, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    n = 6
    out: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)
    threads = [
        threading.Thread(target=_report, args=(pg, cipher, catalog, out, errors, barrier, "retry-key-1"))
        for _ in range(n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(out) == n and len(set(out)) == 1
    with Session(pg) as s:
        assert s.scalar(select(Claim.id).where(Claim.idempotency_key == "retry-key-1")) is not None
        assert len(list(s.scalars(select(Claim.id).where(Claim.case_no.like("LP010101%"))))) == 1


def test_two_officers_same_claim_only_one_wins(
    pg: Engine, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    with Session(pg, expire_on_commit=False) as s, s.begin():
        claim = svc.report_claim(
            s,
            cipher=cipher,
            catalog=catalog,
            calendar=calendar(),
            **report_kwargs(now=AT, accident_date=dt.date(2000, 12, 31)),
        )
    a, b = Session(pg), Session(pg)
    try:
        seen_by_a = svc.get_claim(a, claim_id=claim.id)
        seen_by_b = svc.get_claim(b, claim_id=claim.id)  # both hold version 1 (B's request is mid-way)
        assert seen_by_a.version == seen_by_b.version == 1
        svc.transition_claim(
            a,
            cipher=cipher,
            calendar=calendar(),
            claim_id=claim.id,
            to_state="materials_pending",
            actor="staff:1",
            reason=None,
            now=AT,
        )
        a.commit()
        with pytest.raises(Conflict) as exc:
            svc.transition_claim(
                b,
                cipher=cipher,
                calendar=calendar(),
                claim_id=claim.id,
                to_state="withdrawn",
                actor="staff:2",
                reason="客户不报了",
                now=AT,
            )
        assert exc.value.code == "version_conflict"
        b.rollback()
    finally:
        a.close()
        b.close()
    with Session(pg) as s:
        assert svc.get_claim(s, claim_id=claim.id).state == "materials_pending"
