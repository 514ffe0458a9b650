"""The registries of encrypted and revealable columns derive from what each column declares (D-01, A-03)."""

from __future__ import annotations

import pytest
from sqlalchemy import Integer, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.db import Base
from backend.model_registry import metadata
from backend.security.columns import encrypted, encrypted_columns, revealable_fields

# What staff could reveal before the registry was derived from the columns (a hand-kept list).
REVEALABLE_BEFORE = {
    ("claim", f) for f in ("insured_id_number", "insured_name", "reporter_phone", "bank_account",
                           "bank_holder_name", "beneficiary_name", "place", "hospital", "description",
                           "complex_reason")
} | {("claim_event", "reason"), ("complaint_event", "reason")} | {
    ("complaint", f) for f in ("complainant_name", "contact_phone", "content", "response", "followup_result",
                               "rating_comment")
} | {
    ("home_visit", f) for f in ("name", "phone", "address", "purpose", "note")
} | {
    ("roster_person", f) for f in ("id_number", "name", "phone", "address")
}


def test_a03_revealable_fields_come_from_the_columns() -> None:
    fields = revealable_fields(Base.registry)
    assert set(fields) == REVEALABLE_BEFORE
    by_label = {c.label: c.purpose for c in encrypted_columns(metadata)}
    for spec in fields.values():
        table = spec.model.__table__.name
        assert by_label[f"{table}.{spec.attr}"] == spec.purpose  # the purpose the column declares


def test_a03_free_text_is_revealable_under_its_own_name() -> None:
    fields = revealable_fields(Base.registry)
    for (object_type, field), spec in fields.items():
        free_text = getattr(spec.model, "FREE_TEXT", {})
        if field in free_text:
            assert free_text[field] == (spec.attr, spec.purpose), (object_type, field)


def test_a03_revealable_column_needs_an_object_type() -> None:
    class Other(DeclarativeBase):
        pass

    class Note(Other):
        __tablename__ = "notes"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        text_enc: Mapped[str] = mapped_column(Text, info=encrypted("notes.text", reveal="text"))

    with pytest.raises(TypeError, match="OBJECT_TYPE"):
        revealable_fields(Other.registry)
    assert [c.label for c in encrypted_columns(Other.metadata)] == ["notes.text_enc"]
