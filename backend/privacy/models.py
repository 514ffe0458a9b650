"""Consent events (append-only) and the anonymisation register.

A consent event is one decision — granted or withdrawn — about one sensitive category for one
subject. The subject is identified by what we know when the question is asked:

* a customer on WeChat: ``channel`` (official_account / mini_program) + ``user_id`` (the openid);
  the dialogue asks before the ID number is known, so there is no ID blind index yet;
* a person on the phone or at an office: ``id_bidx``, the HMAC blind index of the insured person's
  ID number (purpose ``claims.insured_id_number``), recorded by the staff member (``actor``).

The latest decision over all of a claim's identities counts (see ``backend.privacy.service``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class ConsentEvent(Base):
    """One consent decision (never updated, never deleted)."""

    __tablename__ = "consent_events"
    __table_args__ = (
        Index("ix_consent_events_subject_user", "category", "channel", "user_id"),
        Index("ix_consent_events_subject_id", "category", "id_bidx"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(24))  # id_number | medical | bank_account
    granted: Mapped[bool] = mapped_column(Boolean)  # False = withdrawn (or refused)
    text_version: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(24))  # where it was given
    user_id: Mapped[str | None] = mapped_column(String(64))  # openid (customer channels)
    id_bidx: Mapped[str | None] = mapped_column(String(64))  # insured ID blind index
    actor: Mapped[str] = mapped_column(String(100))  # customer:<openid>, bot:<channel>, staff:<id>
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True)


class Anonymisation(Base):
    """One record anonymised by the retention job (one row per record: the idempotency key)."""

    __tablename__ = "anonymisations"
    __table_args__ = (UniqueConstraint("object_type", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(24))  # claim | complaint | home_visit
    object_id: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
