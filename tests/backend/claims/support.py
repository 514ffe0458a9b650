"""Helpers shared by the claims and complaints tests."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar
from backend.claims import approvals
from backend.claims import service as claims_svc
from backend.claims.models import Claim, ClaimEvent
from backend.products.service import ProductCatalog, load_catalog
from backend.roster.idcard import check_digit
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from config.settings import CONFIG_DIR, ClaimsSettings

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


@lru_cache(maxsize=1)
def product_catalog() -> ProductCatalog:
    """The product catalog of config/products (cached: it is immutable)."""
    return load_catalog(products_dir=CONFIG_DIR / "products", default_id="chaonan-elderly-accident")


# The stay of the default claim (reported 2 March 2026 for an accident on 27 February): 3 days, 90 yuan.
STAY = approvals.BenefitFacts(admission=dt.date(2026, 2, 27), discharge=dt.date(2026, 3, 1))
STAY_FEN = 9_000
SECOND_APPROVAL_ABOVE_FEN = ClaimsSettings().second_approval_above_yuan * 100  # the settings' default


def approve(db: Session, cipher: FieldCipher, catalog: ProductCatalog, claim_id: int, *,
            amount_fen: int = STAY_FEN, facts: approvals.BenefitFacts = STAY, actor: str = "staff:7",
            reason: str | None = None, above_fen: int = SECOND_APPROVAL_ABOVE_FEN,
            now: dt.datetime = NOW) -> approvals.ApprovalOutcome:
    """Approve an amount for a claim under review (through the product check, as the API does)."""
    return approvals.propose_approval(db, cipher=cipher, calendar=calendar(), catalog=catalog,
                                      second_approval_above_fen=above_fen, claim_id=claim_id,
                                      amount_fen=amount_fen, facts=facts, reason=reason, actor=actor, now=now)
