"""Shapes of the roster staff API (masked values only: nothing here ever carries a full ID number or
phone)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class IdNumberIn(BaseModel):
    id_number: str = Field(min_length=1, max_length=32)


class EligibilityOut(BaseModel):
    """Whether a person is covered today: the ID number and name masked, the reason in plain Chinese."""

    id_number: str | None
    found: bool
    eligible: bool
    code: str
    reason: str
    cover_start: dt.date | None
    person_id: int | None
    name: str | None
