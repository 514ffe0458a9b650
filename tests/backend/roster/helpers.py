"""Builders for roster tests: valid ID numbers and CSV files."""

from __future__ import annotations

import datetime as dt

from backend.roster.idcard import check_digit

HEADER = "姓名,身份证号,户籍区县,手机号,地址"


def make_id(birth: dt.date, *, seq: int = 123, region: str = "440514") -> str:
    """A valid 18-character ID number; odd ``seq`` → male."""
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


def csv_text(*lines: str) -> str:
    """A roster CSV with the standard header."""
    return "\n".join((HEADER, *lines)) + "\n"


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    """A roster CSV encoded as asked (``utf-8-sig`` adds a BOM)."""
    return csv_text(*lines).encode(encoding)
