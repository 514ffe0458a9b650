"""Request bodies of the staff API and the masked views of claims, complaints and home visits.

Every private field leaves the server masked (GB/T 35273 §7.2, catalogue A-03); the clear value is
only available through ``POST /staff/api/reveal`` with a reason, which is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, Field

from backend.claims.models import (
    PURPOSE_BANK_ACCOUNT,
    PURPOSE_INSURED_ID,
    PURPOSE_REPORTER_PHONE,
    Claim,
    ClaimEvent,
)
from backend.complaints.models import PURPOSE_COMPLAINT_PHONE, PURPOSE_VISIT_PHONE, Complaint, HomeVisit
from backend.conversations.turns import scrub_text
from backend.privacy.freetext import HasFreeText, free_text
from backend.security.crypto import CryptoError, FieldCipher
from backend.security.masking import mask_bank_account, mask_id_number, mask_phone
from backend.staff.models import StaffUser

# --- requests ------------------------------------------------------------------------------------

_MAX_ROW_ID = 2**31 - 1  # INTEGER columns (ids, versions): larger numbers would overflow the driver
_MAX_BIGINT = 2**63 - 1  # BIGINT columns (amounts in fen)
Version = Annotated[int | None, Field(ge=1, le=_MAX_ROW_ID)]


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp_code: str = Field(min_length=1, max_length=12)


class PasswordChangeIn(BaseModel):
    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class ExpiredPasswordChangeIn(LoginIn):
    new_password: str = Field(min_length=1, max_length=256)


class StaffCreateIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: str
    password: str = Field(min_length=1, max_length=256)
    display_name: str | None = Field(default=None, max_length=100)


class RoleIn(BaseModel):
    role: str


class TransitionIn(BaseModel):
    to_state: str = Field(max_length=32)
    reason: str | None = Field(default=None, max_length=1000)
    expected_version: Version = None
    approved_amount_fen: int | None = Field(default=None, le=_MAX_BIGINT)


class ComplaintTransitionIn(BaseModel):
    to_state: str = Field(max_length=32)
    reason: str | None = Field(default=None, max_length=1000)
    response: str | None = Field(default=None, max_length=4000)
    expected_version: Version = None


class MaterialIn(BaseModel):
    received: bool


class ComplexIn(BaseModel):
    complex: bool
    reason: str = Field(max_length=1000)
    expected_version: Version = None


class NoteIn(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


class ContactedIn(NoteIn):
    # The visit time agreed on the phone (aware, e.g. 2026-12-03T09:30:00+08:00): the customer gets a
    # confirmation now and a reminder the day before.
    appointment_at: dt.datetime | None = None


class FollowupIn(BaseModel):
    result: str = Field(max_length=2000)
    satisfied: bool | None = None


class CancelIn(BaseModel):
    reason: str = Field(max_length=1000)


class IdNumberIn(BaseModel):
    id_number: str = Field(min_length=1, max_length=32)


class ClaimSearchIn(BaseModel):
    id_number: str | None = Field(default=None, max_length=32)
    case_no: str | None = Field(default=None, max_length=32)


class RevealIn(BaseModel):
    object_type: str = Field(max_length=32)
    object_id: int = Field(ge=1, le=_MAX_ROW_ID)
    field: str = Field(max_length=32)
    reason: str = Field(max_length=500)


# --- masked views --------------------------------------------------------------------------------


def _decrypt(cipher: FieldCipher, token: str | None, purpose: str) -> str | None:
    if not token:
        return None
    try:
        return cipher.decrypt(token, purpose=purpose)
    except CryptoError:
        return "(无法解密)"


def _text(obj: HasFreeText, field: str, cipher: FieldCipher) -> str | None:
    """Free text (stored encrypted) as shown to staff: any ID, phone or card number in it is masked;
    the clear text only through reveal."""
    try:
        value = free_text(obj, field, cipher=cipher)
    except CryptoError:
        return "(无法解密)"
    return scrub_text(value) if value else value


def _history(events: list[Any] | None, cipher: FieldCipher) -> list[dict[str, Any]]:
    return [
        {"id": e.id, "at": e.at, "actor": e.actor, "kind": e.kind, "from_state": e.from_state,
         "to_state": e.to_state, "reason": _text(e, "reason", cipher)}
        for e in (events or [])
    ]


def staff_view(staff: StaffUser, *, now: dt.datetime) -> dict[str, Any]:
    """An account as shown to admins (never the hashes or the TOTP secret)."""
    return {
        "id": staff.id, "username": staff.username, "display_name": staff.display_name,
        "role": staff.role, "disabled": staff.disabled,
        "locked": bool(staff.locked_until and staff.locked_until > now),
        "password_changed_at": staff.password_changed_at, "created_at": staff.created_at,
    }


def claim_view(claim: Claim, *, cipher: FieldCipher, detail: bool = False,
               history: list[ClaimEvent] | None = None) -> dict[str, Any]:
    """A claim with every private field masked."""
    out: dict[str, Any] = {
        "id": claim.id, "case_no": claim.case_no, "product_id": claim.product_id,
        "claim_type": claim.claim_type, "state": claim.state, "version": claim.version,
        "insured_name": claim.insured_name_masked,
        "insured_id_number": mask_id_number(_decrypt(cipher, claim.insured_id_enc, PURPOSE_INSURED_ID)),
        "reporter_relation": claim.reporter_relation,
        "reporter_phone": mask_phone(_decrypt(cipher, claim.reporter_phone_enc, PURPOSE_REPORTER_PHONE)),
        "channel": claim.channel, "accident_date": claim.accident_date,
        "accident_type": claim.accident_type, "is_complex": claim.is_complex,
        "reported_at": claim.reported_at, "updated_at": claim.updated_at,
        "deadline": {
            "kind": claim.deadline_kind, "date": claim.deadline_date, "due_at": claim.due_at,
            "provisional": claim.deadline_provisional,
        },
    }
    if detail:
        out.update({
            "place": _text(claim, "place", cipher), "hospital": _text(claim, "hospital", cipher),
            "description": _text(claim, "description", cipher),
            "bank_account": mask_bank_account(_decrypt(cipher, claim.bank_account_enc, PURPOSE_BANK_ACCOUNT)),
            "complex_reason": _text(claim, "complex_reason", cipher),
            "claimed_amount_fen": claim.claimed_amount_fen,
            "approved_amount_fen": claim.approved_amount_fen, "paid_amount_fen": claim.paid_amount_fen,
            "acknowledged_at": claim.acknowledged_at, "review_started_at": claim.review_started_at,
            "decided_at": claim.decided_at, "paid_at": claim.paid_at, "closed_at": claim.closed_at,
            "materials": [
                {"material_id": m.material_id, "label": m.label, "received": m.received,
                 "marked_by": m.marked_by, "marked_at": m.marked_at}
                for m in claim.materials
            ],
            "history": _history(history, cipher),
        })
    return out


def complaint_view(c: Complaint, *, cipher: FieldCipher, detail: bool = False,
                   history: list[Any] | None = None) -> dict[str, Any]:
    """A complaint with the complainant's name and phone masked."""
    out: dict[str, Any] = {
        "id": c.id, "complaint_no": c.complaint_no, "state": c.state, "version": c.version,
        "category": c.category, "severity": c.severity, "channel": c.channel,
        "complainant_name": c.complainant_name_masked,
        "contact_phone": mask_phone(_decrypt(cipher, c.contact_phone_enc, PURPOSE_COMPLAINT_PHONE)),
        "related_case_no": c.related_case_no, "received_at": c.received_at,
        "acknowledged_at": c.acknowledged_at, "due_at": c.due_at, "due_kind": c.due_kind,
        "resolution_due_date": c.resolution_due_date,
        "resolution_due_provisional": c.resolution_due_provisional,
        "closed_at": c.closed_at, "followup_at": c.followup_at,
    }
    if detail:
        out.update({
            "content": _text(c, "content", cipher), "response": _text(c, "response", cipher),
            "responded_at": c.responded_at, "followup_result": _text(c, "followup_result", cipher),
            "followup_satisfied": c.followup_satisfied,
            "history": _history(history, cipher),
        })
    return out


def home_visit_view(visit: HomeVisit, *, cipher: FieldCipher) -> dict[str, Any]:
    """A home-visit request; name and phone masked, the address only through reveal."""
    return {
        "id": visit.id, "visit_no": visit.visit_no, "state": visit.state, "version": visit.version,
        "name": visit.name_masked,
        "phone": mask_phone(_decrypt(cipher, visit.phone_enc, PURPOSE_VISIT_PHONE)),
        "address": "（需查看请申请显示）", "purpose": _text(visit, "purpose", cipher),
        "channel": visit.channel,
        "related_case_no": visit.related_case_no, "requested_at": visit.requested_at,
        "contact_due_at": visit.contact_due_at, "visit_due_at": visit.visit_due_at,
        "contacted_at": visit.contacted_at, "appointment_at": visit.appointment_at,
        "visited_at": visit.visited_at,
        "cancelled_at": visit.cancelled_at, "note": _text(visit, "note", cipher),
    }
