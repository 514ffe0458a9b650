"""The job table: every timer and every outbox entry is one row with a due time (the durable truth).

A row is identified by ``(kind, key)`` (unique): scheduling the same key again moves the one row, so a
timer or an outbox entry exists once however often the change that causes it is retried. The queue
(taskiq over a Redis stream) only carries ``(id, token)`` to a worker; the row decides.

States: ``pending`` (waiting for ``due_at``) → ``running`` (claimed by a poller until ``lease_until``,
with a fresh ``token``) → ``done`` | ``cancelled`` | ``dead`` (failed ``max_attempts`` times or
permanently: listed for staff, who may resend it). A ``running`` row whose lease passed is claimed
again (its worker died, or Redis lost the message); the old token no longer matches, so a late
duplicate of the old message does nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow

PENDING, RUNNING, DONE, CANCELLED, DEAD = "pending", "running", "done", "cancelled", "dead"
STATES = (PENDING, RUNNING, DONE, CANCELLED, DEAD)
OPEN = (PENDING, RUNNING)


class Job(Base):
    """One timer or outbox entry of a registered kind (``backend.jobs.registry``)."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("kind", "key"),
        # The poller's two look-ups: due pending rows (in claim order: ``due_at, id``, so a claim reads
        # only the rows it takes), and running rows whose lease passed.
        Index("ix_jobs_state_due_at_id", "state", "due_at", "id"),
        Index("ix_jobs_state_lease_until", "state", "lease_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(160))
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # No private data here: ids and codes only (the handler reads the rest from its domain's tables).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Changes at every claim: a queue message carries it, and only the current claim may finish.
    token: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
