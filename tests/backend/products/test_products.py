"""Products are validated data: the default product carries the scheme's numbers; bad files are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backend.errors import NotFound
from backend.products.service import ProductFileError, load_catalog
from config.settings import CONFIG_DIR

DEFAULT = "chaonan-elderly-accident"


def _copy(tmp_path: Path, mutate=None) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load((CONFIG_DIR / "products" / f"{DEFAULT}.yaml").read_text(encoding="utf-8"))
    if mutate:
        mutate(data)
    (tmp_path / f"{DEFAULT}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_default_product_has_the_scheme_facts() -> None:
    p = load_catalog(products_dir=CONFIG_DIR / "products", default_id=DEFAULT).get()
    assert p.benefits.accidental_death.amount_yuan == 3000
    assert p.benefits.hospital_allowance.per_day_yuan == 30
    assert p.benefits.hospital_allowance.max_days_per_stay == 90
    assert p.benefits.hospital_allowance.max_days_per_year == 180
    assert p.benefits.disability.grade_percent[1] == 100 and p.benefits.disability.grade_percent[10] == 10
    assert [p.benefits.transport(k).amount_yuan for k in ("motor_vehicle", "rail", "ship", "aircraft")] == [
        30000, 30000, 50000, 100000]
    assert p.eligibility.min_age == 60 and p.premium.amount_yuan == 10
    assert p.service_standards.complaint_resolution_working_days == 15
    assert p.benefits.medical_expense.amount_yuan is None  # not in the tender: stays honest


def test_unknown_product_id_is_a_clear_error() -> None:
    catalog = load_catalog(products_dir=CONFIG_DIR / "products", default_id=DEFAULT)
    with pytest.raises(NotFound) as err:
        catalog.get("no-such-product")
    assert err.value.code == "unknown_product" and "产品" in err.value.message


def test_a_changed_number_changes_the_product(tmp_path: Path) -> None:
    def mutate(d):  # type: ignore[no-untyped-def]
        d["benefits"]["hospital_allowance"]["per_day_yuan"] = 50
    p = load_catalog(products_dir=_copy(tmp_path, mutate), default_id=DEFAULT).get()
    assert p.benefits.hospital_allowance.per_day_yuan == 50


@pytest.mark.parametrize("mutate", [
    lambda d: d["benefits"]["disability"]["grade_percent"].pop(10),
    lambda d: d["benefits"]["hospital_allowance"].__setitem__("per_day_yuan", -30),
    lambda d: d["benefits"]["transport_death"].pop("ship"),
    lambda d: d.__setitem__("id", "Bad Id!"),
    lambda d: d["eligibility"].__setitem__("cover_starts", "whenever"),
    lambda d: d["claim_types"]["disability"].__setitem__("materials", []),
])
def test_invalid_product_files_are_refused(tmp_path: Path, mutate) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProductFileError):
        load_catalog(products_dir=_copy(tmp_path, mutate), default_id=DEFAULT)


def test_missing_default_or_directory(tmp_path: Path) -> None:
    with pytest.raises(ProductFileError):
        load_catalog(products_dir=tmp_path, default_id=DEFAULT)
    with pytest.raises(ProductFileError):
        load_catalog(products_dir=_copy(tmp_path), default_id="other")
    (tmp_path / "broken.yaml").write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(ProductFileError):
        load_catalog(products_dir=tmp_path, default_id=DEFAULT)
