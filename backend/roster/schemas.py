"""Roster API shapes (masked values only: nothing here ever carries a full ID number or phone)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class EligibilityOut(BaseModel):
    """The answer to "is this person covered on this day?"."""

    model_config = ConfigDict(from_attributes=True)

    found: bool
    eligible: bool
    code: str
    reason: str
    cover_start: dt.date | None = None
    person_id: int | None = None
    masked_name: str | None = None


class RejectionOut(BaseModel):
    """A row of an import that was not imported (reason only, no values)."""

    line: int
    code: str
    reason: str


class RosterImportOut(BaseModel):
    """One import run from the history."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    product_id: str
    file_name: str
    file_sha256: str
    encoding: str
    actor: str
    rows_read: int
    imported_new: int
    updated: int
    unchanged: int
    rejected: int
    rejections: list[RejectionOut]
    started_at: dt.datetime
    finished_at: dt.datetime | None
