"""The ID-number validator other domains import (catalogue D-03)."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.roster.idcard import InvalidIdNumber, age_on, anniversary, validate_id_number
from tests.backend.roster.helpers import make_id

TODAY = dt.date(2026, 6, 15)


def test_valid_id_gives_birth_date_sex_region() -> None:
    number = make_id(dt.date(1950, 3, 7), seq=123)
    info = validate_id_number(number, today=TODAY)
    assert info.number == number
    assert info.birth_date == dt.date(1950, 3, 7)
    assert info.sex == "M"
    assert info.region_code == "440514"
    assert validate_id_number(make_id(dt.date(1950, 3, 7), seq=124), today=TODAY).sex == "F"


def test_lower_case_x_is_accepted_and_upper_cased() -> None:
    # find a birth/seq whose check character is X
    number = next(n for s in range(1000) if (n := make_id(dt.date(1955, 5, 5), seq=s)).endswith("X"))
    info = validate_id_number(" " + number.lower() + " ", today=TODAY)
    assert info.number == number


def test_d03_check_digit_is_verified() -> None:
    number = make_id(dt.date(1950, 3, 7))
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(InvalidIdNumber) as err:
        validate_id_number(wrong, today=TODAY)
    assert err.value.code == "id_checksum"
    assert isinstance(err.value, ValueError)
    assert "校验" in err.value.message


def test_d03_birth_date_must_be_real_and_consistent_with_checksum() -> None:
    # 1950-02-30 does not exist, even with a correct check digit for those 17 digits
    first17 = "44051419500230123"
    from backend.roster.idcard import check_digit

    with pytest.raises(InvalidIdNumber) as err:
        validate_id_number(first17 + check_digit(first17), today=TODAY)
    assert err.value.code == "id_birth_date"


def test_future_birth_date_is_rejected() -> None:
    with pytest.raises(InvalidIdNumber) as err:
        validate_id_number(make_id(dt.date(2026, 6, 16)), today=TODAY)
    assert err.value.code == "id_birth_date"
    validate_id_number(make_id(dt.date(2026, 6, 15)), today=TODAY)  # today itself is fine


@pytest.mark.parametrize("value,code", [
    ("", "id_missing"),
    ("44051419500307123", "id_length"),
    ("4405141950030712345", "id_length"),
    ("44051419500307A23X", "id_format"),
    ("４４０５１４１９５００３０７１２３４", "id_format"),  # full-width digits
])
def test_malformed_ids_have_their_own_code(value: str, code: str) -> None:
    with pytest.raises(InvalidIdNumber) as err:
        validate_id_number(value, today=TODAY)
    assert err.value.code == code


def test_age_and_leap_day_birthdays() -> None:
    birth = dt.date(1966, 6, 15)
    assert age_on(birth, dt.date(2026, 6, 14)) == 59
    assert age_on(birth, dt.date(2026, 6, 15)) == 60
    assert anniversary(dt.date(1964, 2, 29), 60) == dt.date(2024, 2, 29)
    assert anniversary(dt.date(1964, 2, 29), 61) == dt.date(2025, 3, 1)
