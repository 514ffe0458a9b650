"""Shapes of the claims staff API: request bodies, and claims as staff see them (every private field
masked, catalogue A-03; the clear value only through ``POST /staff/api/reveal``, audited)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field

from backend.claims.models import (
    PURPOSE_BANK_ACCOUNT,
    PURPOSE_INSURED_ID,
    PURPOSE_REPORTER_PHONE,
    Claim,
    ClaimApproval,
    ClaimEvent,
)
from backend.db import MAX_BIGINT, MAX_INTEGER
from backend.privacy.views import HistoryEventOut, decrypted, history_view, masked_text
from backend.security.crypto import FieldCipher
from backend.security.masking import mask_bank_account, mask_id_number, mask_phone

Version = Annotated[int | None, Field(ge=1, le=MAX_INTEGER)]
"""The record version the client saw (optimistic locking: 409 when it changed meanwhile)."""

# --- requests ------------------------------------------------------------------------------------


class BenefitFactsIn(BaseModel):
    """What an approved amount rests on: the stay (hospital allowance), the grade (disability), the
    transport (transport death; ``operating`` false for a private car, paid as an ordinary death)."""

    admission: dt.date | None = None
    discharge: dt.date | None = None
    grade: int | None = Field(default=None, ge=1, le=10)
    transport: str | None = Field(default=None, max_length=32)
    operating: bool = True


class TransitionIn(BaseModel):
    to_state: str = Field(max_length=32)
    # Approving: a reason is needed when the amount is above the computed benefit.
    reason: str | None = Field(default=None, max_length=1000)
    expected_version: Version = None
    approved_amount_fen: int | None = Field(default=None, le=MAX_BIGINT)
    benefit_facts: BenefitFactsIn | None = None


class ApprovalConfirmIn(BaseModel):
    """The second approver types the amount again."""

    approved_amount_fen: int = Field(ge=1, le=MAX_BIGINT)
    expected_version: Version = None


class ApprovalDeclineIn(BaseModel):
    reason: str = Field(max_length=1000)


class MaterialIn(BaseModel):
    received: bool


class ComplexIn(BaseModel):
    complex: bool
    reason: str = Field(max_length=1000)
    expected_version: Version = None


class ClaimSearchIn(BaseModel):
    id_number: str | None = Field(default=None, max_length=32)
    case_no: str | None = Field(default=None, max_length=32)


# --- responses -----------------------------------------------------------------------------------


class DeadlineOut(BaseModel):
    """The claim's current deadline: its kind, the local date, the instant it passes, and whether it
    rests on weekend-only estimates (no holiday data yet)."""

    kind: str | None
    date: dt.date | None
    due_at: dt.datetime | None
    provisional: bool


class ClaimOut(BaseModel):
    """A claim in a list: masked name, ID number and phone."""

    id: int
    case_no: str
    product_id: str
    claim_type: str
    state: str
    version: int
    insured_name: str
    insured_id_number: str | None
    reporter_relation: str
    reporter_phone: str | None
    channel: str
    accident_date: dt.date
    accident_type: str
    is_complex: bool
    reported_at: dt.datetime
    updated_at: dt.datetime
    deadline: DeadlineOut


class MaterialOut(BaseModel):
    """One item of the materials checklist."""

    material_id: str
    label: str
    received: bool
    marked_by: str | None
    marked_at: dt.datetime | None


class ApprovalOut(BaseModel):
    """An approved amount checked against the product: computed benefit, ceiling, who set it and who
    confirmed it (``pending`` until a second approver does, above the configured amount)."""

    id: int
    status: str
    benefit: str
    facts: dict[str, object]
    computed_fen: int
    ceiling_fen: int
    amount_fen: int
    allowance_days: int | None
    over_reason: str | None
    proposed_by: str
    proposed_at: dt.datetime
    second_approver: str | None
    decided_at: dt.datetime | None


def approval_view(a: ClaimApproval, cipher: FieldCipher) -> ApprovalOut:
    """An approval as staff see it (its reason masked)."""
    return ApprovalOut(
        id=a.id, status=a.status, benefit=a.benefit, facts=a.facts, computed_fen=a.computed_fen,
        ceiling_fen=a.ceiling_fen, amount_fen=a.amount_fen, allowance_days=a.allowance_days,
        over_reason=masked_text(a, "over_reason", cipher), proposed_by=a.proposed_by,
        proposed_at=a.proposed_at, second_approver=a.second_approver, decided_at=a.decided_at)


class ClaimDetailOut(ClaimOut):
    """One claim with its free text (numbers masked), bank account (masked), checklist and history."""

    place: str | None
    hospital: str | None
    description: str | None
    bank_account: str | None
    complex_reason: str | None
    claimed_amount_fen: int | None
    approved_amount_fen: int | None
    paid_amount_fen: int | None
    acknowledged_at: dt.datetime | None
    review_started_at: dt.datetime | None
    decided_at: dt.datetime | None
    paid_at: dt.datetime | None
    closed_at: dt.datetime | None
    materials: list[MaterialOut]
    history: list[HistoryEventOut]
    approvals: list[ApprovalOut]  # newest first


class ClaimListOut(BaseModel):
    items: list[ClaimOut]
    limit: int
    offset: int


class ClaimSearchOut(BaseModel):
    items: list[ClaimOut]


def _summary(claim: Claim, cipher: FieldCipher) -> dict[str, object]:
    return {
        "id": claim.id, "case_no": claim.case_no, "product_id": claim.product_id,
        "claim_type": claim.claim_type, "state": claim.state, "version": claim.version,
        "insured_name": claim.insured_name_masked,
        "insured_id_number": mask_id_number(decrypted(cipher, claim.insured_id_enc, PURPOSE_INSURED_ID)),
        "reporter_relation": claim.reporter_relation,
        "reporter_phone": mask_phone(decrypted(cipher, claim.reporter_phone_enc, PURPOSE_REPORTER_PHONE)),
        "channel": claim.channel, "accident_date": claim.accident_date,
        "accident_type": claim.accident_type, "is_complex": claim.is_complex,
        "reported_at": claim.reported_at, "updated_at": claim.updated_at,
        "deadline": DeadlineOut(kind=claim.deadline_kind, date=claim.deadline_date, due_at=claim.due_at,
                                provisional=claim.deadline_provisional),
    }


def claim_view(claim: Claim, *, cipher: FieldCipher) -> ClaimOut:
    """A claim with every private field masked (for lists)."""
    return ClaimOut.model_validate(_summary(claim, cipher))


def claim_detail_view(claim: Claim, *, cipher: FieldCipher, history: list[ClaimEvent],
                      approvals: list[ClaimApproval] | None = None) -> ClaimDetailOut:
    """One claim in full, every private field masked."""
    return ClaimDetailOut.model_validate({
        **_summary(claim, cipher),
        "place": masked_text(claim, "place", cipher), "hospital": masked_text(claim, "hospital", cipher),
        "description": masked_text(claim, "description", cipher),
        "bank_account": mask_bank_account(decrypted(cipher, claim.bank_account_enc, PURPOSE_BANK_ACCOUNT)),
        "complex_reason": masked_text(claim, "complex_reason", cipher),
        "claimed_amount_fen": claim.claimed_amount_fen,
        "approved_amount_fen": claim.approved_amount_fen, "paid_amount_fen": claim.paid_amount_fen,
        "acknowledged_at": claim.acknowledged_at, "review_started_at": claim.review_started_at,
        "decided_at": claim.decided_at, "paid_at": claim.paid_at, "closed_at": claim.closed_at,
        "materials": [
            MaterialOut(material_id=m.material_id, label=m.label, received=m.received,
                        marked_by=m.marked_by, marked_at=m.marked_at)
            for m in claim.materials
        ],
        "history": history_view(history, cipher),
        "approvals": [approval_view(a, cipher) for a in approvals or []],
    })
