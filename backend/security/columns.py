"""Encrypted columns declare their FieldCipher purpose where they are defined; the registries of
encrypted and revealable columns derive from the SQLAlchemy metadata, so ``security/`` names no domain.

    insured_id_enc: Mapped[str | None] = mapped_column(
        Text, info=encrypted(PURPOSE_INSURED_ID, reveal="insured_id_number"))

``reveal`` (optional) is the field name under which staff may see the clear value (``POST
/staff/api/reveal``, audited); the model then names its records for the audit log in ``OBJECT_TYPE``
(``"claim"``, ``"roster_person"``, …). Key rotation walks :func:`encrypted_columns`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.orm import registry

PURPOSE = "purpose"
REVEAL = "reveal"


def encrypted(purpose: str, *, reveal: str | None = None) -> dict[str, str]:
    """The ``info`` of an encrypted column: its FieldCipher purpose and, if staff may reveal it, the field."""
    info = {PURPOSE: purpose}
    if reveal is not None:
        info[REVEAL] = reveal
    return info


@dataclass(frozen=True)
class EncryptedColumn:
    """One encrypted column and the purpose (associated data) its values were encrypted for."""

    table: str
    column: str
    purpose: str

    @property
    def label(self) -> str:
        """``table.column``."""
        return f"{self.table}.{self.column}"


def encrypted_columns(metadata: MetaData) -> tuple[EncryptedColumn, ...]:
    """Every column that declares a purpose, table by table (the models must be imported)."""
    return tuple(
        EncryptedColumn(table.name, column.name, column.info[PURPOSE])
        for table in metadata.sorted_tables
        for column in table.columns
        if PURPOSE in column.info
    )


@dataclass(frozen=True)
class Revealable:
    """Where a revealable field lives: the model, the encrypted column attribute, and its purpose."""

    model: type[Any]
    attr: str
    purpose: str


def revealable_fields(models: registry) -> dict[tuple[str, str], Revealable]:
    """``{(object type, field): Revealable}`` for every column that declares ``reveal``."""
    out: dict[tuple[str, str], Revealable] = {}
    for mapper in models.mappers:
        for attr, prop in mapper.column_attrs.items():
            info = prop.columns[0].info
            if REVEAL not in info:
                continue
            object_type = mapper.class_.__dict__.get("OBJECT_TYPE")
            if not isinstance(object_type, str):
                raise TypeError(f"{mapper.class_.__name__} has revealable columns but no OBJECT_TYPE")
            out[(object_type, info[REVEAL])] = Revealable(mapper.class_, attr, info[PURPOSE])
    return out
