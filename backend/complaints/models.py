"""Complaints (投诉) with their history and follow-up visit, and home-visit requests (上门服务).

Names, phones and addresses are stored only encrypted (``*_enc``, a FieldCipher purpose per column);
names also have a masked copy in clear (``*_masked``, e.g. 张*明) for lists. Every ``*_enc``
column declares its purpose and whether staff may reveal it (``info=encrypted(...)``). Free text
(complaint content, answer, follow-up result, event reasons, a visit's purpose and staff note) is
encrypted too (catalogue D-01, C-01): ``FREE_TEXT`` maps each field to its column and purpose, read
and written only through ``backend.privacy.freetext`` (``free_text`` / ``set_free_text``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow
from backend.security.columns import encrypted

PURPOSE_COMPLAINT_PHONE = "complaints.contact_phone"
PURPOSE_COMPLAINANT_NAME = "complaints.complainant_name"
PURPOSE_VISIT_NAME = "home_visits.name"
PURPOSE_VISIT_PHONE = "home_visits.phone"
PURPOSE_VISIT_ADDRESS = "home_visits.address"
PURPOSE_COMPLAINT_CONTENT = "complaints.content"
PURPOSE_COMPLAINT_RESPONSE = "complaints.response"
PURPOSE_FOLLOWUP_RESULT = "complaints.followup_result"
PURPOSE_COMPLAINT_EVENT_REASON = "complaint_events.reason"
PURPOSE_VISIT_PURPOSE = "home_visits.purpose"
PURPOSE_VISIT_NOTE = "home_visits.note"
PURPOSE_RATING_COMMENT = "complaints.rating_comment"


class Complaint(Base):
    """One complaint: 受理 → 调查 → 反馈 → 结案, then a follow-up visit (回访)."""

    __tablename__ = "complaints"
    OBJECT_TYPE: ClassVar[str] = "complaint"  # in audit records and reveal requests

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_no: Mapped[str] = mapped_column(String(16), unique=True)
    product_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(24), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(24))
    # The name is NULL once the record is anonymised (retention job, D-05); the mask stays "***".
    complainant_name_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_COMPLAINANT_NAME, reveal="complainant_name"))
    complainant_name_masked: Mapped[str] = mapped_column(String(100))
    contact_phone_enc: Mapped[str] = mapped_column(
        Text, info=encrypted(PURPOSE_COMPLAINT_PHONE, reveal="contact_phone"))
    contact_phone_bidx: Mapped[str] = mapped_column(String(64), index=True)
    openid: Mapped[str | None] = mapped_column(String(64), index=True)
    related_case_no: Mapped[str | None] = mapped_column(String(16), index=True)
    content_enc: Mapped[str] = mapped_column(
        Text, info=encrypted(PURPOSE_COMPLAINT_CONTENT, reveal="content"))
    response_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_COMPLAINT_RESPONSE, reveal="response"))
    standards: Mapped[dict[str, Any]] = mapped_column(JSON)

    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ack_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    # Resolution (answer) deadline in working days from the day received.
    resolution_due_date: Mapped[dt.date] = mapped_column(Date)
    resolution_due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    resolution_base: Mapped[dt.date] = mapped_column(Date)
    resolution_working_days: Mapped[int] = mapped_column(Integer)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The earliest open deadline (acknowledgement, then resolution); None once answered.
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    due_kind: Mapped[str | None] = mapped_column(String(16))

    followup_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    followup_by: Mapped[str | None] = mapped_column(String(100))
    followup_result_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_FOLLOWUP_RESULT, reveal="followup_result"))
    followup_satisfied: Mapped[bool | None] = mapped_column(Boolean)

    # The complainant's own rating of the outcome (1–5, from the mini-program), once answered.
    rating: Mapped[int | None] = mapped_column(Integer)
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rating_comment_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_RATING_COMMENT, reveal="rating_comment"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    FREE_TEXT: ClassVar[dict[str, tuple[str, str]]] = {
        "content": ("content_enc", PURPOSE_COMPLAINT_CONTENT),
        "response": ("response_enc", PURPOSE_COMPLAINT_RESPONSE),
        "followup_result": ("followup_result_enc", PURPOSE_FOLLOWUP_RESULT),
        "rating_comment": ("rating_comment_enc", PURPOSE_RATING_COMMENT),
    }


class ComplaintEvent(Base):
    """One entry of a complaint's history."""

    __tablename__ = "complaint_events"
    OBJECT_TYPE: ClassVar[str] = "complaint_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    complaint_version: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24))  # filed, acknowledged, transition, followup
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    # encrypted free text (FREE_TEXT)
    reason_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_COMPLAINT_EVENT_REASON, reveal="reason"))

    FREE_TEXT: ClassVar[dict[str, tuple[str, str]]] = {
        "reason": ("reason_enc", PURPOSE_COMPLAINT_EVENT_REASON)}


class HomeVisit(Base):
    """A request for a home visit: requested → contacted → visited (or cancelled)."""

    __tablename__ = "home_visits"
    OBJECT_TYPE: ClassVar[str] = "home_visit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_no: Mapped[str] = mapped_column(String(16), unique=True)
    product_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # NULL once anonymised
    name_enc: Mapped[str | None] = mapped_column(Text, info=encrypted(PURPOSE_VISIT_NAME, reveal="name"))
    name_masked: Mapped[str] = mapped_column(String(100))
    phone_enc: Mapped[str] = mapped_column(Text, info=encrypted(PURPOSE_VISIT_PHONE, reveal="phone"))
    phone_bidx: Mapped[str] = mapped_column(String(64), index=True)
    address_enc: Mapped[str] = mapped_column(Text, info=encrypted(PURPOSE_VISIT_ADDRESS, reveal="address"))
    openid: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(24))
    purpose_enc: Mapped[str] = mapped_column(Text, info=encrypted(PURPOSE_VISIT_PURPOSE, reveal="purpose"))
    related_case_no: Mapped[str | None] = mapped_column(String(16))

    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    contact_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    visit_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    contacted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    contacted_by: Mapped[str | None] = mapped_column(String(100))
    # The visit time agreed on the phone (the customer is sent a confirmation and, the day before,
    # a reminder).
    appointment_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    visited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    visited_by: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    note_enc: Mapped[str | None] = mapped_column(Text, info=encrypted(PURPOSE_VISIT_NOTE, reveal="note"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    FREE_TEXT: ClassVar[dict[str, tuple[str, str]]] = {
        "purpose": ("purpose_enc", PURPOSE_VISIT_PURPOSE),
        "note": ("note_enc", PURPOSE_VISIT_NOTE),
    }

