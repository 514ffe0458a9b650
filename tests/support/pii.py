"""Detectors for private data that must never reach a log line or an error body (catalogue D-02)."""

from __future__ import annotations

import logging
import re

_ID = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<![0-9A-Za-z])(1[3-9]\d{9})(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{16,19})(?![0-9A-Za-z])")
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_check_ok(value: str) -> bool:
    """GB 11643 MOD 11-2 check digit."""
    total = sum(int(c) * w for c, w in zip(value[:17], _W, strict=True))
    return _CHECK[total % 11] == value[17].upper()


def luhn_ok(digits: str) -> bool:
    """Luhn mod 10 check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def find_pii(text: str) -> list[tuple[str, str]]:
    """Every (kind, value) in ``text`` that looks like a real ID number, mobile phone or bank card."""
    hits = [("id_number", m) for m in _ID.findall(text) if id_check_ok(m)]
    hits += [("phone", m) for m in _PHONE.findall(text)]
    hits += [("card", m) for m in _CARD.findall(text) if m.startswith("62") and luhn_ok(m)]
    return hits


class PiiCanary(logging.Handler):
    """A log handler that remembers every record carrying private data (values cut to 3 chars)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.hits: list[str] = []
        self.secrets: tuple[str, ...] = ()  # other values that must never be logged (e.g. M-02's key)
        self.secret_hits: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + str(record.exc_info[1])
        self.secret_hits.extend(record.name for s in self.secrets if s in text)
        for kind, value in find_pii(text):
            self.hits.append(f"{record.name}: {kind} {value[:3]}…")
