"""Masks for display (GB/T 35273 §7.2): applied server-side in every response by default."""

from __future__ import annotations


def mask_id_number(value: str | None) -> str | None:
    """``440514195301011234`` → ``4405**********1234`` (first 4 and last 4 kept)."""
    if not value:
        return value
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    """``13812345678`` → ``138****5678``."""
    if not value:
        return value
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str | None:
    """``张三明`` → ``张*明``; ``张三`` → ``张*``; longer names keep first and last."""
    if not value:
        return value
    if len(value) == 1:
        return "*"
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_bank_account(value: str | None) -> str | None:
    """``6222021234567890123`` → ``6222***********0123``."""
    if not value:
        return value
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
