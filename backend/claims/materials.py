"""Claims: the materials checklist and the payout bank account.

Marking the last missing item of a claim in ``reported`` / ``materials_pending`` moves it to
``under_review`` (the review clock starts when the materials are complete); marking an item missing
again while ``under_review`` moves it back to ``materials_pending``. Medical items need the
``medical`` consent and the bank account the ``bank_account`` consent (D-04, backend.privacy).

D-03: the bank account number is 12–19 digits (no Luhn check: not every Chinese card follows it);
the holder's name must be the insured person's or the beneficiary's, otherwise the account is still
stored but the claim is flagged (``bank_name_mismatch``) with a history event for an officer.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar
from backend.claims import validation as v
from backend.claims.models import (
    PURPOSE_BANK_ACCOUNT,
    PURPOSE_BANK_HOLDER_NAME,
    PURPOSE_BENEFICIARY_NAME,
    Claim,
)
from backend.claims.queries import get_claim, insured_name_of
from backend.claims.states import OPEN_STATES, ClaimState
from backend.claims.workflow import apply_transition, ensure_not_frozen, flush_claim, record_claim_event
from backend.db import utcnow
from backend.errors import Conflict, NotFound
from backend.privacy.service import check_claim_consent, is_medical_material
from backend.security.crypto import CryptoError, FieldCipher

_MATERIAL_STATES = (ClaimState.REPORTED, ClaimState.MATERIALS_PENDING, ClaimState.UNDER_REVIEW)


def mark_material(
    session: Session,
    *,
    cipher: FieldCipher,
    claim_id: int,
    material_id: str,
    received: bool,
    actor: str,
    now: dt.datetime | None = None,
    calendar: WorkingCalendar | None = None,
) -> Claim:
    """Mark one checklist item received or missing; complete materials start the review (see module doc)."""
    now = now or utcnow()
    who = v.actor(actor)
    claim = get_claim(session, claim_id=claim_id)
    ensure_not_frozen(claim)
    if ClaimState(claim.state) not in _MATERIAL_STATES:
        raise Conflict("materials_closed", "案件已审核完毕，不能再改材料", detail={"state": claim.state})
    item = next((m for m in claim.materials if m.material_id == material_id), None)
    if item is None:
        raise NotFound(
            "unknown_material",
            "这个案件不需要这项材料",
            detail={"material_id": material_id, "allowed": [m.material_id for m in claim.materials]},
        )
    if item.received == received:
        return claim
    if received and is_medical_material(material_id):
        check_claim_consent(session, claim=claim, category="medical", actor=who, now=now)
    item.received, item.marked_by, item.marked_at = received, who, now
    claim.updated_at = now
    flush_claim(session, claim)
    record_claim_event(
        session,
        claim,
        cipher=cipher,
        kind="material",
        actor=who,
        at=now,
        reason=f"{item.label}：{'已收到' if received else '缺少'}",
    )
    cal = calendar or _default_calendar()

    def move(to_state: ClaimState, why: str) -> None:
        apply_transition(session, claim, cipher=cipher, calendar=cal, to_state=to_state, actor=who,
                         reason=why, now=now)

    state = ClaimState(claim.state)
    if received and all(m.received for m in claim.materials) and state is not ClaimState.UNDER_REVIEW:
        if state is ClaimState.REPORTED:
            move(ClaimState.MATERIALS_PENDING, "开始收取材料")
        move(ClaimState.UNDER_REVIEW, "材料已齐全")
    elif not received and state is ClaimState.UNDER_REVIEW:
        move(ClaimState.MATERIALS_PENDING, f"需补充材料：{item.label}")
    return claim


def _default_calendar() -> WorkingCalendar:
    """For callers that pass no calendar: the settings' holidays file (prefer passing the runtime's)."""
    from config.settings import get_settings

    return WorkingCalendar.load(get_settings().holidays_file)


_NAME_NOISE = re.compile(r"[\s·•.\u00b7\u30fb-]")


def _same_name(a: str | None, b: str | None) -> bool:
    """Names equal once blanks and middle dots are removed (case-insensitive for Latin letters)."""
    if not a or not b:
        return False
    return _NAME_NOISE.sub("", a).casefold() == _NAME_NOISE.sub("", b).casefold()


def _decrypt(cipher: FieldCipher, token: str | None, purpose: str) -> str | None:
    if not token:
        return None
    try:
        return cipher.decrypt(token, purpose=purpose)
    except CryptoError:
        return None  # treated as "no name": the account is flagged for an officer


def set_bank_account(
    session: Session,
    *,
    cipher: FieldCipher,
    claim_id: int,
    bank_account: str,
    actor: str,
    holder_name: str | None = None,
    beneficiary_name: str | None = None,
    now: dt.datetime | None = None,
) -> Claim:
    """Store the payout account (encrypted, never logged); a holder not insured/beneficiary is flagged."""
    now = now or utcnow()
    who = v.actor(actor)
    digits = re.sub(r"[\s-]", "", bank_account or "")
    if not (digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 19):
        raise v.invalid("bank_account", "银行卡号应该是12到19位数字，请检查后再填", "invalid_bank_account")
    holder = v.text(holder_name, field="holder_name", label="持卡人姓名", max_len=100, required=False)
    beneficiary = v.text(beneficiary_name, field="beneficiary_name", label="受益人姓名", max_len=100,
                         required=False)
    claim = get_claim(session, claim_id=claim_id)
    ensure_not_frozen(claim)
    if ClaimState(claim.state) not in OPEN_STATES:
        raise Conflict("claim_not_open", "案件已办结，不能再改", detail={"state": claim.state})
    check_claim_consent(session, claim=claim, category="bank_account", actor=who, now=now)
    if beneficiary is not None:
        claim.beneficiary_name_enc = cipher.encrypt(beneficiary, purpose=PURPOSE_BENEFICIARY_NAME)
    was_flagged = claim.bank_name_mismatch
    known = (insured_name_of(claim, cipher=cipher), _decrypt(cipher, claim.beneficiary_name_enc,
                                                              PURPOSE_BENEFICIARY_NAME))
    matches = any(_same_name(holder, name) for name in known)
    claim.bank_account_enc = cipher.encrypt(digits, purpose=PURPOSE_BANK_ACCOUNT)
    claim.bank_holder_name_enc = (None if holder is None
                                  else cipher.encrypt(holder, purpose=PURPOSE_BANK_HOLDER_NAME))
    claim.bank_name_mismatch = not matches
    claim.updated_at = now
    flush_claim(session, claim)
    record_claim_event(session, claim, cipher=cipher, kind="bank_account", actor=who, at=now,
                       reason="更新收款银行卡")
    if not matches:
        why = "没有填写持卡人姓名" if holder is None else "持卡人不是被保险人或受益人"
        record_claim_event(session, claim, cipher=cipher, kind="flag", actor=who, at=now,
                           reason=f"bank_name_mismatch：{why}，请人工核对")
    elif was_flagged:
        record_claim_event(session, claim, cipher=cipher, kind="flag_cleared", actor=who, at=now,
                           reason="bank_name_mismatch：持卡人姓名已核对一致")
    return claim
