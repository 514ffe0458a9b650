"""Reveal one private field in clear, with a reason, written to the audit log (catalogue A-03/A-04)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.claims.models import PURPOSE_BANK_ACCOUNT, PURPOSE_INSURED_ID, PURPOSE_REPORTER_PHONE, Claim
from backend.complaints.models import (
    PURPOSE_COMPLAINT_PHONE,
    PURPOSE_VISIT_ADDRESS,
    PURPOSE_VISIT_PHONE,
    Complaint,
    HomeVisit,
)
from backend.db import Base, utcnow
from backend.errors import NotFound, ServiceError
from backend.roster.models import (
    PURPOSE_ADDRESS,
    PURPOSE_ID_NUMBER,
    PURPOSE_NAME,
    PURPOSE_PHONE,
    RosterPerson,
)
from backend.security.crypto import CryptoError, FieldCipher

MIN_REASON_LENGTH = 4


@dataclass(frozen=True)
class Revealable:
    """Where a field lives: the model, the column attribute, and its cipher purpose (None = clear)."""

    model: type[Base]
    attr: str
    purpose: str | None


REVEALABLE: dict[tuple[str, str], Revealable] = {
    ("claim", "insured_id_number"): Revealable(Claim, "insured_id_enc", PURPOSE_INSURED_ID),
    ("claim", "insured_name"): Revealable(Claim, "insured_name", None),
    ("claim", "reporter_phone"): Revealable(Claim, "reporter_phone_enc", PURPOSE_REPORTER_PHONE),
    ("claim", "bank_account"): Revealable(Claim, "bank_account_enc", PURPOSE_BANK_ACCOUNT),
    ("complaint", "complainant_name"): Revealable(Complaint, "complainant_name", None),
    ("complaint", "contact_phone"): Revealable(Complaint, "contact_phone_enc", PURPOSE_COMPLAINT_PHONE),
    ("home_visit", "name"): Revealable(HomeVisit, "name", None),
    ("home_visit", "phone"): Revealable(HomeVisit, "phone_enc", PURPOSE_VISIT_PHONE),
    ("home_visit", "address"): Revealable(HomeVisit, "address_enc", PURPOSE_VISIT_ADDRESS),
    ("roster_person", "id_number"): Revealable(RosterPerson, "id_number_enc", PURPOSE_ID_NUMBER),
    ("roster_person", "name"): Revealable(RosterPerson, "name_enc", PURPOSE_NAME),
    ("roster_person", "phone"): Revealable(RosterPerson, "phone_enc", PURPOSE_PHONE),
    ("roster_person", "address"): Revealable(RosterPerson, "address_enc", PURPOSE_ADDRESS),
}


def reveal_field(
    session: Session, *, cipher: FieldCipher, object_type: str, object_id: int, field: str, reason: str,
    actor: str, ip: str | None = None, now: dt.datetime | None = None,
) -> str | None:
    """The clear value of one field; the reason (≥ 4 characters) goes into the audit record."""
    now = now or utcnow()
    why = (reason or "").strip()
    if len(why) < MIN_REASON_LENGTH:
        raise ServiceError("reason_required", f"请写明查看原因（至少 {MIN_REASON_LENGTH} 个字）",
                           detail={"field": "reason"}, status_code=422)
    spec = REVEALABLE.get((object_type, field))
    if spec is None:
        raise ServiceError("not_revealable", "这一项不能查看", status_code=422,
                           detail={"allowed": sorted(f"{t}.{f}" for t, f in REVEALABLE)})
    obj = session.get(spec.model, object_id)
    if obj is None:
        raise NotFound("not_found", "找不到这条记录")
    stored = getattr(obj, spec.attr)
    value: str | None
    if stored is None or spec.purpose is None:
        value = stored
    else:
        try:
            value = cipher.decrypt(stored, purpose=spec.purpose)
        except CryptoError:
            raise ServiceError("cannot_decrypt", "这项数据无法解密，请联系管理员", status_code=500) from None
    record_event(session, actor=actor, action="reveal", object_type=object_type, object_id=object_id,
                 field=field, purpose=why, ip=ip, at=now)
    return value
