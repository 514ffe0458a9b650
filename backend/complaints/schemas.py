"""Shapes of the complaints and home-visits staff API: request bodies, and records as staff see them
(name and phone masked, free text with its numbers masked, catalogue A-03; a visit's address only
through ``POST /staff/api/reveal``, audited)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from backend.claims.schemas import Version
from backend.complaints.models import PURPOSE_COMPLAINT_PHONE, PURPOSE_VISIT_PHONE, Complaint, HomeVisit
from backend.privacy.views import HistoryEventOut, decrypted, history_view, masked_text
from backend.security.crypto import FieldCipher
from backend.security.masking import mask_phone

ADDRESS_HIDDEN = "（需查看请申请显示）"

# --- requests ------------------------------------------------------------------------------------


class ComplaintTransitionIn(BaseModel):
    to_state: str = Field(max_length=32)
    reason: str | None = Field(default=None, max_length=1000)
    response: str | None = Field(default=None, max_length=4000)
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


# --- responses -----------------------------------------------------------------------------------


class ComplaintOut(BaseModel):
    """A complaint in a list: the complainant's name and phone masked."""

    id: int
    complaint_no: str
    state: str
    version: int
    category: str
    severity: str
    channel: str
    complainant_name: str
    contact_phone: str | None
    related_case_no: str | None
    received_at: dt.datetime
    acknowledged_at: dt.datetime | None
    due_at: dt.datetime | None
    due_kind: str | None
    resolution_due_date: dt.date
    resolution_due_provisional: bool
    closed_at: dt.datetime | None
    followup_at: dt.datetime | None


class ComplaintDetailOut(ComplaintOut):
    """One complaint with its texts (numbers masked) and history."""

    content: str | None
    response: str | None
    responded_at: dt.datetime | None
    followup_result: str | None
    followup_satisfied: bool | None
    history: list[HistoryEventOut]


class ComplaintListOut(BaseModel):
    items: list[ComplaintOut]
    limit: int
    offset: int


class HomeVisitOut(BaseModel):
    """A home-visit request: name and phone masked, the address hidden."""

    id: int
    visit_no: str
    state: str
    version: int
    name: str
    phone: str | None
    address: str
    purpose: str | None
    channel: str
    related_case_no: str | None
    requested_at: dt.datetime
    contact_due_at: dt.datetime
    visit_due_at: dt.datetime
    contacted_at: dt.datetime | None
    appointment_at: dt.datetime | None = None
    visited_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    note: str | None


class HomeVisitListOut(BaseModel):
    items: list[HomeVisitOut]
    limit: int
    offset: int


def _summary(c: Complaint, cipher: FieldCipher) -> dict[str, Any]:
    return {
        "id": c.id, "complaint_no": c.complaint_no, "state": c.state, "version": c.version,
        "category": c.category, "severity": c.severity, "channel": c.channel,
        "complainant_name": c.complainant_name_masked,
        "contact_phone": mask_phone(decrypted(cipher, c.contact_phone_enc, PURPOSE_COMPLAINT_PHONE)),
        "related_case_no": c.related_case_no, "received_at": c.received_at,
        "acknowledged_at": c.acknowledged_at, "due_at": c.due_at, "due_kind": c.due_kind,
        "resolution_due_date": c.resolution_due_date,
        "resolution_due_provisional": c.resolution_due_provisional,
        "closed_at": c.closed_at, "followup_at": c.followup_at,
    }


def complaint_view(c: Complaint, *, cipher: FieldCipher) -> ComplaintOut:
    """A complaint with the complainant's name and phone masked (for lists)."""
    return ComplaintOut.model_validate(_summary(c, cipher))


def complaint_detail_view(c: Complaint, *, cipher: FieldCipher, history: list[Any]) -> ComplaintDetailOut:
    """One complaint in full, every private value masked."""
    return ComplaintDetailOut.model_validate({
        **_summary(c, cipher),
        "content": masked_text(c, "content", cipher), "response": masked_text(c, "response", cipher),
        "responded_at": c.responded_at, "followup_result": masked_text(c, "followup_result", cipher),
        "followup_satisfied": c.followup_satisfied,
        "history": history_view(history, cipher),
    })


def home_visit_view(visit: HomeVisit, *, cipher: FieldCipher) -> HomeVisitOut:
    """A home-visit request; name and phone masked, the address only through reveal."""
    return HomeVisitOut(
        id=visit.id, visit_no=visit.visit_no, state=visit.state, version=visit.version,
        name=visit.name_masked,
        phone=mask_phone(decrypted(cipher, visit.phone_enc, PURPOSE_VISIT_PHONE)),
        address=ADDRESS_HIDDEN, purpose=masked_text(visit, "purpose", cipher),
        channel=visit.channel,
        related_case_no=visit.related_case_no, requested_at=visit.requested_at,
        contact_due_at=visit.contact_due_at, visit_due_at=visit.visit_due_at,
        contacted_at=visit.contacted_at, appointment_at=visit.appointment_at, visited_at=visit.visited_at,
        cancelled_at=visit.cancelled_at, note=masked_text(visit, "note", cipher),
    )
