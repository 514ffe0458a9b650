"""Claims: the claim, its history, its materials checklist, and the daily case-number counters.

Private data (names, ID number, phone, bank account) is stored only encrypted (``*_enc``, FieldCipher
with a purpose per column) plus an HMAC blind index (``*_bidx``) where lookups are needed. The
insured's name also has a masked copy in clear (``insured_name_masked``, e.g. 张*明) for lists.
Free text (place, hospital, description, complex reason, event reasons) is encrypted too (catalogue
D-01, C-01: people type phone and ID numbers and health details into it; hospital and injury are health
information): ``FREE_TEXT`` maps each field to its column and purpose, read and written only through
``backend.privacy.freetext`` (``free_text`` / ``set_free_text``).
Every ``*_enc`` column declares its purpose (``info=encrypted(...)``, ``backend.security.columns``), and
the fields staff may reveal; key rotation and reveal read them from there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, UTCDateTime, utcnow
from backend.security.columns import encrypted

# FieldCipher purposes (associated data): a value copied into another column does not decrypt.
PURPOSE_INSURED_ID = "claims.insured_id_number"
PURPOSE_REPORTER_PHONE = "claims.reporter_phone"
PURPOSE_BANK_ACCOUNT = "claims.bank_account"
PURPOSE_INSURED_NAME = "claims.insured_name"
PURPOSE_BANK_HOLDER_NAME = "claims.bank_holder_name"
PURPOSE_BENEFICIARY_NAME = "claims.beneficiary_name"
PURPOSE_PLACE = "claims.place"
PURPOSE_HOSPITAL = "claims.hospital"
PURPOSE_DESCRIPTION = "claims.description"
PURPOSE_COMPLEX_REASON = "claims.complex_reason"
PURPOSE_EVENT_REASON = "claim_events.reason"
PURPOSE_APPROVAL_REASON = "claim_approvals.over_reason"


class CaseCounter(Base):
    """The last daily sequence number issued per (prefix, Asia/Shanghai day), e.g. (LP, 261121)."""

    __tablename__ = "case_counters"
    __table_args__ = (UniqueConstraint("prefix", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(4))
    day: Mapped[str] = mapped_column(String(6))  # YYMMDD
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Claim(Base):
    """One claim report (报案) and its progress."""

    __tablename__ = "claims"
    OBJECT_TYPE: ClassVar[str] = "claim"  # in audit records and reveal requests

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(16), unique=True)
    product_id: Mapped[str] = mapped_column(String(64))
    claim_type: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(24), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    # Private columns are NULL once the record is anonymised (retention job, D-05).
    insured_name_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_INSURED_NAME, reveal="insured_name"))
    insured_name_masked: Mapped[str] = mapped_column(String(100))
    insured_id_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_INSURED_ID, reveal="insured_id_number"))
    insured_id_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    roster_person_id: Mapped[int | None] = mapped_column(Integer, index=True)

    reporter_relation: Mapped[str] = mapped_column(String(32))
    reporter_phone_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_REPORTER_PHONE, reveal="reporter_phone"))
    reporter_phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    # The reporter's identity on a customer channel (channel + openid): the consent subject (D-04)
    # and who may see progress by case number alone.
    reporter_openid: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(24))

    accident_date: Mapped[dt.date] = mapped_column(Date)
    accident_type: Mapped[str] = mapped_column(String(64))
    # Free text, encrypted (FREE_TEXT): clear lengths are checked before encryption.
    place_enc: Mapped[str | None] = mapped_column(Text, info=encrypted(PURPOSE_PLACE, reveal="place"))
    hospital_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_HOSPITAL, reveal="hospital"))
    description_enc: Mapped[str] = mapped_column(
        Text, info=encrypted(PURPOSE_DESCRIPTION, reveal="description"))
    bank_account_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_BANK_ACCOUNT, reveal="bank_account"))
    # D-03: the account holder's name must be the insured's or the beneficiary's, else it is flagged
    # for an officer (accepted, not rejected).
    bank_holder_name_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_BANK_HOLDER_NAME, reveal="bank_holder_name"))
    beneficiary_name_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_BENEFICIARY_NAME, reveal="beneficiary_name"))
    bank_name_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)

    is_complex: Mapped[bool] = mapped_column(Boolean, default=False)
    complex_reason_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_COMPLEX_REASON, reveal="complex_reason"))

    # Money in integer fen (分): exact.
    claimed_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    approved_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    paid_amount_fen: Mapped[int | None] = mapped_column(BigInteger)

    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set by the retention job when the personal data was removed (D-05).
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)

    # The current deadline: kind (report_ack, materials_review, payment, complex_case), the local date
    # it falls on, whether it rests on weekend-only estimates, the instant it passes (UTC), and for
    # working-day deadlines the base date and count, so it can be recomputed when holidays load.
    deadline_kind: Mapped[str | None] = mapped_column(String(24))
    deadline_date: Mapped[dt.date | None] = mapped_column(Date)
    deadline_provisional: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    deadline_base: Mapped[dt.date | None] = mapped_column(Date)
    deadline_working_days: Mapped[int | None] = mapped_column(Integer)

    # The product's service standards when the claim was reported (the promise made to the customer):
    # later deadlines use these, so next year's product file does not change open claims.
    standards: Mapped[dict[str, Any]] = mapped_column(JSON)

    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)

    materials: Mapped[list[ClaimMaterial]] = relationship(
        back_populates="claim", order_by="ClaimMaterial.id", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    FREE_TEXT: ClassVar[dict[str, tuple[str, str]]] = {
        "place": ("place_enc", PURPOSE_PLACE),
        "hospital": ("hospital_enc", PURPOSE_HOSPITAL),
        "description": ("description_enc", PURPOSE_DESCRIPTION),
        "complex_reason": ("complex_reason_enc", PURPOSE_COMPLEX_REASON),
    }


class ClaimEvent(Base):
    """One entry of a claim's history: a state change, the complex flag, or a material mark."""

    __tablename__ = "claim_events"
    OBJECT_TYPE: ClassVar[str] = "claim_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    claim_version: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(
        String(24)
    )  # reported, transition, complex_set, complex_unset, material, bank_account, flag, attachment,
    # anonymised
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    # encrypted free text (FREE_TEXT)
    reason_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_EVENT_REASON, reveal="reason"))

    FREE_TEXT: ClassVar[dict[str, tuple[str, str]]] = {"reason": ("reason_enc", PURPOSE_EVENT_REASON)}


class ClaimMaterial(Base):
    """One item of a claim's materials checklist (from the product's claim type)."""

    __tablename__ = "claim_materials"
    __table_args__ = (UniqueConstraint("claim_id", "material_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    material_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    received: Mapped[bool] = mapped_column(Boolean, default=False)
    marked_by: Mapped[str | None] = mapped_column(String(100))
    marked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    claim: Mapped[Claim] = relationship(back_populates="materials")


class ClaimAttachment(Base):
    """A file sent for a claim: a WeChat picture (media id, expires after 3 days: W-16) or a stored file.

    ``pending_fetch`` → the download job fetches it and sets ``stored`` (with ``storage_key``), or
    ``expired`` when WeChat no longer has it (the customer is asked to send it again).
    """

    __tablename__ = "claim_attachments"
    __table_args__ = (UniqueConstraint("channel", "media_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    material_id: Mapped[str | None] = mapped_column(String(64))  # checklist item, once known
    channel: Mapped[str] = mapped_column(String(24))
    media_id: Mapped[str | None] = mapped_column(String(128))
    storage_key: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)  # known once stored
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the stored (cleaned) bytes
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending_fetch | stored | expired
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))


class ClaimApproval(Base):
    """An approved amount checked against the product (``backend.claims.approvals``): what the benefit
    calculator computed from the facts, the product's ceiling for the claim type, the amount, who set it,
    and, above the configured amount, the second approver (four-eyes).

    ``pending`` → ``approved`` (applied to the claim) | ``declined`` | ``superseded`` (a newer proposal).
    """

    __tablename__ = "claim_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    claim_version: Mapped[int] = mapped_column(Integer)  # the claim as the proposer saw it
    benefit: Mapped[str] = mapped_column(String(32))
    # The facts the amount was computed from (dates of a stay, a disability grade, a transport kind).
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_fen: Mapped[int] = mapped_column(BigInteger)
    ceiling_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # Hospital allowance: the days this amount pays, in which policy year (for the yearly cap).
    allowance_days: Mapped[int | None] = mapped_column(Integer)
    policy_year: Mapped[int | None] = mapped_column(Integer)
    # Why the amount exceeds the computed one (free text, encrypted; required then).
    over_reason_enc: Mapped[str | None] = mapped_column(Text, info=encrypted(PURPOSE_APPROVAL_REASON))
    status: Mapped[str] = mapped_column(String(16), index=True)
    proposed_by: Mapped[str] = mapped_column(String(100))
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    second_approver: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    FREE_TEXT: ClassVar[dict[str, tuple[str, str]]] = {
        "over_reason": ("over_reason_enc", PURPOSE_APPROVAL_REASON)}
