"""Case numbers a person can read out on the phone: prefix + YYMMDD + 4-digit daily sequence + Luhn.

``LP`` claims (理赔), ``TS`` complaints (投诉), ``SM`` home visits (上门). The date is the
Asia/Shanghai date of the report. The sequence comes from one counter row per (prefix, day),
incremented by an atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING``: two concurrent reports
never get the same number, and the row lock is held until the reporting transaction ends (a
rolled-back report gives its number back). Same format as ``intents.case_numbers`` (to be unified).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.calendar.service import local_date
from backend.claims.models import CaseCounter
from backend.errors import ServiceError

PREFIXES = ("LP", "TS", "SM")
MAX_DAILY_SEQ = 9999


def luhn_digit(digits: str) -> str:
    """The Luhn (mod 10) check digit for a string of ASCII digits."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("luhn_digit needs ASCII digits")
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def format_case_number(prefix: str, yymmdd: str, seq: int) -> str:
    """``format_case_number("LP", "261121", 42)`` → ``LP26112100420``."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown case-number prefix {prefix!r}")
    if len(yymmdd) != 6 or not yymmdd.isascii() or not yymmdd.isdigit():
        raise ValueError("yymmdd must be 6 digits")
    if not 0 <= seq <= MAX_DAILY_SEQ:
        raise ValueError("daily sequence out of range")
    payload = f"{yymmdd}{seq:04d}"
    return f"{prefix}{payload}{luhn_digit(payload)}"


def is_valid_case_number(value: str) -> bool:
    """True for a well-formed number with a correct check digit (any known prefix)."""
    digits = value[2:]
    return (
        len(value) == 13
        and value[:2] in PREFIXES
        and digits.isascii()
        and digits.isdigit()
        and luhn_digit(digits[:-1]) == digits[-1]
    )


def next_case_number(session: Session, *, prefix: str, at: dt.datetime) -> str:
    """Issue the next number of the Asia/Shanghai day of ``at`` (unique under concurrency)."""
    yymmdd = local_date(at).strftime("%y%m%d")
    dialect = session.get_bind().dialect.name
    stmt: Insert
    if dialect == "postgresql":
        pg = postgresql.insert(CaseCounter).values(prefix=prefix, day=yymmdd, last_seq=1)
        stmt = pg.on_conflict_do_update(
            index_elements=["prefix", "day"], set_={"last_seq": CaseCounter.last_seq + 1}
        )
    elif dialect == "sqlite":
        lite = sqlite.insert(CaseCounter).values(prefix=prefix, day=yymmdd, last_seq=1)
        stmt = lite.on_conflict_do_update(
            index_elements=["prefix", "day"], set_={"last_seq": CaseCounter.last_seq + 1}
        )
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        raise RuntimeError(f"unsupported database {dialect}")
    seq = session.execute(stmt.returning(CaseCounter.last_seq)).scalar_one()
    if seq > MAX_DAILY_SEQ:
        raise ServiceError(
            "case_numbers_exhausted",
            "今天的案件编号已用完，请联系工作人员",
            detail={"prefix": prefix, "day": yymmdd},
            status_code=503,
        )
    return format_case_number(prefix, yymmdd, seq)
