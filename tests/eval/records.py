"""What a conversation left in the database, decrypted, for the dialogue evaluation's checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims import models as claims
from backend.complaints import models as complaints
from backend.handoff import models as handoff
from backend.security.crypto import FieldCipher


@dataclass
class Records:
    """The rows one customer's conversation created, as plain dicts."""

    claims: list[dict[str, Any]] = field(default_factory=list)
    complaints: list[dict[str, Any]] = field(default_factory=list)
    visits: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)

    def stored_texts(self) -> list[str]:
        """Every stored free-text or personal value (to check nothing wrong was stored)."""
        out = []
        for rows in (self.claims, self.complaints, self.visits):
            for row in rows:
                out.extend(str(v) for k, v in row.items() if isinstance(v, str) and k in _TEXT_FIELDS)
        return out


_TEXT_FIELDS = {"insured_name", "id_number", "hospital", "place", "phone", "callback_phone",
                "complainant_name", "name", "address"}


def _dec(cipher: FieldCipher, value: str | None, purpose: str) -> str:
    if not value:
        return ""
    return cipher.decrypt(value, purpose=purpose)


def read_records(session: Session, cipher: FieldCipher, *, channel: str, user_id: str) -> Records:
    """The claims, complaints, home visits and handoff requests of one customer."""
    out = Records()
    for c in session.scalars(select(claims.Claim).where(claims.Claim.reporter_openid == user_id)):
        out.claims.append({
            "case_no": c.case_no, "claim_type": c.claim_type, "state": c.state,
            "relation": c.reporter_relation, "accident_type": c.accident_type,
            "accident_date": c.accident_date.isoformat() if c.accident_date else "",
            "insured_name": _dec(cipher, c.insured_name_enc, claims.PURPOSE_INSURED_NAME),
            "id_number": _dec(cipher, c.insured_id_enc, claims.PURPOSE_INSURED_ID),
            "phone": _dec(cipher, c.reporter_phone_enc, claims.PURPOSE_REPORTER_PHONE),
            "hospital": _dec(cipher, c.hospital_enc, claims.PURPOSE_HOSPITAL),
            "place": _dec(cipher, c.place_enc, claims.PURPOSE_PLACE),
        })
    for p in session.scalars(select(complaints.Complaint).where(complaints.Complaint.openid == user_id)):
        out.complaints.append({
            "complaint_no": p.complaint_no, "category": p.category,
            "callback_phone": _dec(cipher, p.contact_phone_enc, complaints.PURPOSE_COMPLAINT_PHONE),
            "complainant_name": _dec(cipher, p.complainant_name_enc, complaints.PURPOSE_COMPLAINANT_NAME),
        })
    for v in session.scalars(select(complaints.HomeVisit).where(complaints.HomeVisit.openid == user_id)):
        out.visits.append({
            "visit_no": v.visit_no,
            "name": _dec(cipher, v.name_enc, complaints.PURPOSE_VISIT_NAME),
            "phone": _dec(cipher, v.phone_enc, complaints.PURPOSE_VISIT_PHONE),
            "address": _dec(cipher, v.address_enc, complaints.PURPOSE_VISIT_ADDRESS),
        })
    rows = session.scalars(select(handoff.HandoffRequest).where(
        handoff.HandoffRequest.channel == channel, handoff.HandoffRequest.user_id == user_id))
    for h in rows:
        out.handoffs.append({"reason": h.reason, "status": h.status, "flow": h.flow})
    return out
