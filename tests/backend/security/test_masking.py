"""Masks for display (A-03)."""

from __future__ import annotations

from backend.security.masking import mask_bank_account, mask_id_number, mask_name, mask_phone


def test_masks_match_the_issue_examples() -> None:
    assert mask_id_number("44051419530101123X") == "4405**********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三明") == "张*明"


def test_mask_edge_cases() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_name("张") == "*"
    assert mask_bank_account("6222021234567890123") == "6222***********0123"
    assert mask_phone("123") == "***"
    assert mask_id_number("1234") == "****"
    for fn in (mask_id_number, mask_phone, mask_name, mask_bank_account):
        assert fn(None) is None and fn("") == ""
