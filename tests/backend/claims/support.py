"""Helpers shared by the claims and complaints tests."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar
from backend.claims import service as claims_svc
from backend.claims.models import Claim, ClaimEvent
from backend.roster.idcard import check_digit
from backend.runtime import Runtime
from config.settings import CONFIG_DIR

PHONE = "13912345678"
CARD = "6222021234567890128"  # Luhn-valid

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Shanghai


def make_id(first17: str = "44051419530101123") -> str:
    """A valid 18-character ID number."""
    return first17 + check_digit(first17)


@lru_cache(maxsize=4)
def calendar(path: Path | None = CONFIG_DIR / "holidays.yaml") -> WorkingCalendar:
    """The calendar (cached: it is immutable)."""
    return WorkingCalendar.load(path)


HOLIDAYS_2027 = """
years:
  2027:
    holidays:
      - 2027-01-01
      - {from: 2027-02-06, to: 2027-02-12}
    workdays:
      - 2027-02-14
"""


def report_kwargs(**overrides: Any) -> dict[str, Any]:
    """Valid arguments of report_claim (without session/cipher/catalog/calendar)."""
    kwargs: dict[str, Any] = {
        "product_id": "chaonan-elderly-accident",
        "claim_type": "hospital_allowance",
        "insured_name": "陈阿婆",
        "insured_id_number": make_id(),
        "reporter_phone": "13800138000",
        "reporter_relation": "女儿",
        "accident_date": dt.date(2026, 2, 27),
        "accident_type": "摔倒",
        "description": "在家里摔倒，送医院住院",
        # Entered by staff from a phone call: the consent given on the phone is recorded with the staff
        # actor (D-04). Customer-channel reports need a recorded consent first (see test_privacy).
        "channel": "phone",
        "actor": "staff:3",
        "now": NOW,
    }
    kwargs.update(overrides)
    return kwargs


def new_claim(db: Session, runtime: Runtime, *, id_number: str | None = None) -> Claim:
    claim = claims_svc.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                    **report_kwargs(insured_id_number=id_number or make_id(),
                                                    reporter_phone=PHONE))
    claims_svc.set_bank_account(db, cipher=runtime.cipher, claim_id=claim.id, bank_account=CARD, actor="t")
    db.flush()
    return claim


def events(db: Session, claim_id: int) -> list[str]:
    return list(db.scalars(select(ClaimEvent.kind).where(ClaimEvent.claim_id == claim_id)
                           .order_by(ClaimEvent.id)))
