"""Shapes of the audit staff API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class ChainReportOut(BaseModel):
    """The keyed chain walked and held against the newest signed checkpoint: intact, or the first
    broken record and why."""

    ok: bool
    checked: int
    broken_seq: int | None
    broken_id: int | None
    reason: str | None
    checkpoint_seq: int | None = None
    checkpoint_at: str | None = None


class AuditEventOut(BaseModel):
    """One audit record (a number typed into ``purpose`` is shown masked)."""

    seq: int
    at: dt.datetime
    actor: str
    ip: str | None
    action: str
    object_type: str | None
    object_id: str | None
    field: str | None
    purpose: str | None
    result: str
    hash: str


class AuditEventsOut(BaseModel):
    items: list[AuditEventOut]
