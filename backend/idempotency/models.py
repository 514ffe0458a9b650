"""Idempotency keys of create requests: one row per (owner, key), written in the create's transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class IdempotencyKey(Base):
    """A create request seen once: what it asked (a fingerprint) and what it made (type and id).

    No response body is kept (it would hold private data in clear): a replay renders the resource
    again from its id.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))  # e.g. customer:12
    key: Mapped[str] = mapped_column(String(100))
    operation: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
