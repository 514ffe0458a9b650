"""Masking of private numbers in stored turn texts (catalogue D-02: no clear ID or phone at rest)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.security.masking import _scrub_numbers, scrub_slots, scrub_text

ID = "440514195001011234"  # a GB 11643 shaped number (the check digit is not what is tested here)


def test_id_phone_and_card_are_masked_in_free_text() -> None:
    out = scrub_text(f"我身份证{ID}，电话138 1234 5678，卡号6222-0212-3456-7890-123")
    assert ID not in out and "1234 5678" not in out and "7890-123" not in out
    assert "4405" in out or "*" in out


def test_text_without_long_numbers_is_returned_unchanged() -> None:
    text = "住院一天赔多少钱？案件号LP2611210042，电话在哪里"
    assert scrub_text(text) == text


def test_private_values_are_masked_too() -> None:
    out = scrub_text("我叫陈阿明，住在峡山", private_values=["陈阿明"])
    assert "陈阿明" not in out


def test_slots_are_masked() -> None:
    assert ID not in str(scrub_slots({"id_number": ID, "note": f"号码{ID}"}))


# The quick pre-check (11 digits in a row) must never skip a text the three patterns would change:
# texts built around the shortest numbers they mask (phones of 11 digits, with separators and +86).
_NUMBERISH = st.from_regex(
    r"(\+86 ?)?1[3-9]\d([ \-]?\d){8}|\d([ \-]?\d){11,18}|[1-9]\d{16}[\dXx]", fullmatch=True)
_NOISE = st.text(alphabet="0123456789 -+Xx８９阿a", max_size=12)


@settings(max_examples=400, deadline=None)
@given(_NOISE, _NUMBERISH, _NOISE)
def test_precheck_never_changes_the_result(before: str, number: str, after: str) -> None:
    text = before + number + after
    assert scrub_text(text) == _scrub_numbers(text)


@settings(max_examples=300, deadline=None)
@given(_NOISE)
def test_precheck_on_short_noise(text: str) -> None:
    assert scrub_text(text) == _scrub_numbers(text)
