"""Benefit calculator at every limit, from the product's data only."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.claims import benefits as b
from backend.products.service import ProductCatalog

D = dt.date(2026, 1, 1)


def test_hospital_allowance_counts_both_ends_and_caps(catalog: ProductCatalog) -> None:
    p = catalog.get()
    ha = p.benefits.hospital_allowance
    fen = ha.per_day_yuan * 100
    assert b.hospital_allowance(p, admission=D, discharge=D).total_fen == fen  # same day = 1 day
    stay = dt.timedelta(days=ha.max_days_per_stay - 1)
    assert b.hospital_allowance(p, admission=D, discharge=D + stay).total_fen == fen * ha.max_days_per_stay
    long = b.hospital_allowance(p, admission=D, discharge=D + stay + dt.timedelta(days=1))
    assert long.total_fen == fen * ha.max_days_per_stay and any("每次住院最多" in n for n in long.notes)
    left = ha.max_days_per_year - ha.max_days_per_stay - 10
    r = b.hospital_allowance(
        p, admission=D, discharge=D + stay, paid_days_this_year=ha.max_days_per_stay + 10
    )
    assert r.total_fen == fen * left and any("每年最多" in n for n in r.notes)
    assert (
        b.hospital_allowance(
            p, admission=D, discharge=D + stay, paid_days_this_year=ha.max_days_per_year
        ).total_fen
        == 0
    )
    assert fen * ha.max_days_per_year == 540_000  # 5,400 元 a year, as the scheme says


def test_hospital_allowance_nights_rule_from_product_data(catalog: ProductCatalog) -> None:
    p = catalog.get()
    ha = p.benefits.hospital_allowance.model_copy(update={"day_count_rule": "nights"})
    nights = p.model_copy(update={"benefits": p.benefits.model_copy(update={"hospital_allowance": ha})})
    fen = ha.per_day_yuan * 100
    assert b.hospital_allowance(nights, admission=D, discharge=D).total_fen == 0
    r = b.hospital_allowance(nights, admission=D, discharge=D + dt.timedelta(days=3))
    assert r.total_fen == 3 * fen and any("晚数" in n for n in r.notes)


def test_hospital_allowance_bad_input(catalog: ProductCatalog) -> None:
    p = catalog.get()
    with pytest.raises(b.BenefitInputError) as exc:
        b.hospital_allowance(p, admission=D, discharge=D - dt.timedelta(days=1))
    assert exc.value.code == "invalid_benefit_input" and "出院" in exc.value.message
    with pytest.raises(b.BenefitInputError):
        b.hospital_allowance(p, admission=D, discharge=D, paid_days_this_year=-1)


def test_death_and_disability_grades(catalog: ProductCatalog) -> None:
    p = catalog.get()
    assert b.death_benefit(p).total_fen == p.benefits.accidental_death.amount_yuan * 100
    dis = p.benefits.disability
    assert b.disability_benefit(p, grade=1).total_fen == dis.sum_insured_yuan * 100
    assert b.disability_benefit(p, grade=10).total_fen == dis.sum_insured_yuan * 10
    assert "10%" in b.disability_benefit(p, grade=10).items[0].rule
    for bad in (0, 11, -1, True):
        with pytest.raises(b.BenefitInputError):
            b.disability_benefit(p, grade=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["motor_vehicle", "rail", "ship", "aircraft"])
def test_each_transport_kind(catalog: ProductCatalog, kind: str) -> None:
    p = catalog.get()
    r = b.transport_death_benefit(p, kind=kind)
    assert r.total_fen == p.benefits.transport(kind).amount_yuan * 100 and r.benefit == "transport_death"


def test_non_operating_vehicle_is_ordinary_accident_and_bad_kind(catalog: ProductCatalog) -> None:
    p = catalog.get()
    r = b.transport_death_benefit(p, kind="motor_vehicle", operating=False)
    assert r.benefit == "accidental_death" and r.total_fen == b.death_benefit(p).total_fen
    for bad in ("bicycle", "non_operating_note"):
        with pytest.raises(b.BenefitInputError):
            b.transport_death_benefit(p, kind=bad)
