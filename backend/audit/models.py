"""Audit models: an append-only, hash-chained log (catalogue A-04) and the chain-head lock row.

The database refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) on ``audit_records`` through
triggers. The exact SQL is kept in the module constants below so the Alembic migration can run the
same statements (``op.execute(stmt)`` for each statement of the dialect).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DDL, BigInteger, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class AuditRecord(Base):
    """One audited event; ``hash`` covers the canonical content and ``prev_hash``."""

    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    field: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(500))
    result: Mapped[str] = mapped_column(String(32))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(Base):
    """One row (id 1) locked by every append so the chain is extended one record at a time."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


# --- Append-only triggers (reuse these exact statements in the Alembic migration) ---------------

PG_AUDIT_TRIGGER_SQL: tuple[str, ...] = (
    """
CREATE OR REPLACE FUNCTION audit_records_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $audit$
BEGIN
    RAISE EXCEPTION 'audit_records is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$audit$
""".strip(),
    "CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records "
    "FOR EACH ROW EXECUTE FUNCTION audit_records_refuse_change()",
    "CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records "
    "FOR EACH ROW EXECUTE FUNCTION audit_records_refuse_change()",
    "CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_records_refuse_change()",
)

SQLITE_AUDIT_TRIGGER_SQL: tuple[str, ...] = (
    "CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records "
    "BEGIN SELECT RAISE(ABORT, 'audit_records is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records "
    "BEGIN SELECT RAISE(ABORT, 'audit_records is append-only: DELETE refused'); END",
)


def _escape(stmt: str) -> str:
    """DDL() treats ``%`` as a format character; double it for a literal."""
    return stmt.replace("%", "%%")


for _stmt in PG_AUDIT_TRIGGER_SQL:
    _ddl = DDL(_escape(_stmt))  # type: ignore[no-untyped-call]
    event.listen(AuditRecord.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))
for _stmt in SQLITE_AUDIT_TRIGGER_SQL:
    _ddl = DDL(_escape(_stmt))  # type: ignore[no-untyped-call]
    event.listen(AuditRecord.__table__, "after_create", _ddl.execute_if(dialect="sqlite"))
