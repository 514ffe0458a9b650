"""Roster models: the insured people of a product and the history of roster imports.

Private values are stored only encrypted (FieldCipher, one purpose per column); lookups go through
HMAC blind indexes. ``name_masked`` (e.g. 张*明) is the display form, so answering "am I covered?"
never decrypts anything. Birth date and sex are in clear because eligibility needs them.
Rows are never deleted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow
from backend.security.columns import encrypted

# FieldCipher purposes (associated data) and blind-index purposes, one per column.
PURPOSE_ID_NUMBER = "roster.id_number"
PURPOSE_NAME = "roster.name"
PURPOSE_PHONE = "roster.phone"
PURPOSE_ADDRESS = "roster.address"
PURPOSE_ROW_HASH = "roster.row_hash"


class RosterImport(Base):
    """One run of a roster import (history; kept with the people it created)."""

    __tablename__ = "roster_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    encoding: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    imported_new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    # [{"line": 12, "code": "id_checksum", "reason": "…"}]: reasons only, never the row's values.
    rejections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RosterPerson(Base):
    """An insured person as the government roster lists them."""

    __tablename__ = "roster_people"
    OBJECT_TYPE: ClassVar[str] = "roster_person"  # in audit records and reveal requests
    __table_args__ = (
        UniqueConstraint("product_id", "id_number_bidx"),
        Index("ix_roster_people_product_id_phone_bidx", "product_id", "phone_bidx"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64))
    id_number_enc: Mapped[str] = mapped_column(Text, info=encrypted(PURPOSE_ID_NUMBER, reveal="id_number"))
    id_number_bidx: Mapped[str] = mapped_column(String(64))
    name_enc: Mapped[str] = mapped_column(Text, info=encrypted(PURPOSE_NAME, reveal="name"))
    name_masked: Mapped[str] = mapped_column(String(64))
    phone_enc: Mapped[str | None] = mapped_column(
        Text, nullable=True, info=encrypted(PURPOSE_PHONE, reveal="phone"))
    phone_bidx: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address_enc: Mapped[str | None] = mapped_column(
        Text, nullable=True, info=encrypted(PURPOSE_ADDRESS, reveal="address"))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    district: Mapped[str] = mapped_column(String(64))
    cover_start: Mapped[dt.date] = mapped_column(Date)
    # Keyed HMAC of the normalised row: equal → the re-imported row changes nothing.
    row_hash: Mapped[str] = mapped_column(String(64))
    first_import_id: Mapped[int] = mapped_column(ForeignKey("roster_imports.id"))
    # The last import that created or changed the row (an identical re-import writes nothing).
    last_import_id: Mapped[int] = mapped_column(ForeignKey("roster_imports.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
