"""The project's case numbers: kind prefix + YYMMDD + 4-digit daily sequence + Luhn digit.

``LP`` = claim (理赔), ``TS`` = complaint (投诉), ``SM`` = home visit (上门).
Example: kind ``LP``, date ``261121``, sequence 42 → payload ``2611210042`` → ``LP2611210042`` + Luhn digit.
"""

from __future__ import annotations

import re

KINDS: dict[str, str] = {"LP": "claim", "TS": "complaint", "SM": "home_visit"}

_RE_CANDIDATE = re.compile(
    r"(?<![A-Za-z])(lp|ts|sm)[\s\-_]*((?:\d[\s\-]*){10}\d)(?!\d)", re.IGNORECASE
)


def luhn_digit(digits: str) -> str:
    """The Luhn (mod 10) check digit to append to *digits* (a string of 0-9)."""
    if not digits or not digits.isdigit() or not digits.isascii():
        raise ValueError(f"luhn_digit needs ASCII digits, got {digits!r}")
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 0:  # the digit next to the future check digit is doubled
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    """True when the last digit of *number* is the Luhn check digit of the rest."""
    return len(number) >= 2 and number.isdigit() and number.isascii() and luhn_digit(number[:-1]) == number[-1]  # noqa: E501


def make_case_number(kind_prefix: str, yymmdd: str, seq: int) -> str:
    """Build a case number, e.g. ``make_case_number("LP", "261121", 42)``."""
    kind = kind_prefix.upper()
    if kind not in KINDS:
        raise ValueError(f"unknown case kind {kind_prefix!r}; expected one of {sorted(KINDS)}")
    if len(yymmdd) != 6 or not yymmdd.isdigit() or not yymmdd.isascii():
        raise ValueError(f"yymmdd must be 6 digits, got {yymmdd!r}")
    if not 0 <= seq <= 9999:
        raise ValueError(f"daily sequence must be 0..9999, got {seq}")
    payload = f"{yymmdd}{seq:04d}"
    return f"{kind}{payload}{luhn_digit(payload)}"


def parse_case_number(text: str) -> str | None:
    """First valid case number in *text*, normalized (upper case, no separators), else None."""
    for m in _RE_CANDIDATE.finditer(text):
        digits = re.sub(r"[\s\-]", "", m.group(2))
        if len(digits) == 11 and luhn_valid(digits):
            return m.group(1).upper() + digits
    return None
