"""Field-key rotation (catalogue D-01): re-encrypt every stored value with the active key.

The registry of encrypted columns (table, column, FieldCipher purpose) derives from the models: each
``*_enc`` column declares its purpose (``backend.security.columns.encrypted``), and a test checks that
every ``*_enc`` column of ``backend.model_registry.metadata`` does. ``ENCRYPTED_COLUMNS`` reads it
(import the models first: ``backend.model_registry``). :func:`rotate_all` walks each column by
primary key in batches, one transaction per batch, and rewrites each value whose key id is not the active one
(``FieldCipher.needs_rotation``): idempotent (a second run finds nothing) and resumable (an interrupted
run keeps its committed batches). Each write is a compare-and-set on the old token, so a value changed
meanwhile by the application (already under the active key) is left alone. Retire an old key from
``CS_CRYPTO__KEYS`` only when :func:`key_status` shows no value still uses it (and after the dialogue
state in Redis, encrypted with the keyring too, has expired: a day).

The blind-index key (``CS_CRYPTO__BLIND_INDEX_KEY``) is NOT rotated here: an HMAC cannot be
recomputed from itself. Changing it needs a re-index: decrypt each value (with the field keys) and
write its new index, per ``*_bidx`` column, while both the old and new index keys are known
(and roster ``row_hash`` values recomputed by the next import). Until that exists, keep that key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.audit.service import record_event
from backend.db import Base, session_scope, utcnow
from backend.security.columns import EncryptedColumn, encrypted_columns
from backend.security.crypto import CryptoError, FieldCipher

ACTOR = "system:key-rotation"


def __getattr__(name: str) -> tuple[EncryptedColumn, ...]:
    """``ENCRYPTED_COLUMNS``: every encrypted column of the models imported so far (the registry)."""
    if name == "ENCRYPTED_COLUMNS":
        return encrypted_columns(Base.metadata)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class ColumnRotation:
    """What a rotation did to one column: values re-encrypted, changed meanwhile, undecryptable."""

    column: EncryptedColumn
    rotated: int = 0
    changed_meanwhile: int = 0
    failed: int = 0
    failed_ids: list[int] = field(default_factory=list)  # the first few, for the operator


@dataclass(frozen=True)
class BatchResult:
    """One batch: the last primary key seen (None when there was nothing left) and its counts."""

    last_id: int | None
    rotated: int
    changed_meanwhile: int
    failed_ids: tuple[int, ...]


def _table(name: str) -> Table:
    table = Base.metadata.tables.get(name)
    if table is None:
        raise LookupError(f"unknown table {name!r}")
    return table


def _prefix(key_id: str) -> str:
    """The token prefix of a key (``v1.<key id>.``, the format of ``FieldCipher.encrypt``)."""
    return f"v1.{key_id}."


def rotate_batch(
    session: Session, *, cipher: FieldCipher, spec: EncryptedColumn, after_id: int, batch: int
) -> BatchResult:
    """Re-encrypt up to ``batch`` values of one column not made with the active key (flushes only)."""
    table = _table(spec.table)
    col, pk = table.c[spec.column], table.c.id
    stale = ~col.startswith(_prefix(cipher.active_key_id), autoescape=True)
    rows = session.execute(
        select(pk, col)
        .where(col.is_not(None), stale, pk > after_id)
        .order_by(pk)
        .limit(batch)
    ).all()
    rotated = changed = 0
    failed: list[int] = []
    for row_id, token in rows:
        if not cipher.needs_rotation(token):
            continue
        try:
            plain = cipher.decrypt(token, purpose=spec.purpose)
        except CryptoError:
            failed.append(row_id)
            continue
        new = cipher.encrypt(plain, purpose=spec.purpose)
        done = session.execute(update(table).where(pk == row_id, col == token).values({spec.column: new}))
        if done.rowcount == 1:  # type: ignore[attr-defined]
            rotated += 1
        else:
            changed += 1
    return BatchResult(last_id=rows[-1][0] if rows else None, rotated=rotated, changed_meanwhile=changed,
                       failed_ids=tuple(failed))


def rotate_all(
    sessions: sessionmaker[Session], *, cipher: FieldCipher, batch: int = 500,
    columns: Sequence[EncryptedColumn] | None = None,
    progress: Callable[[ColumnRotation], None] | None = None, now: dt.datetime | None = None,
) -> list[ColumnRotation]:
    """Rotate every registered column to the active key, committing after each batch; audited."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    reports: list[ColumnRotation] = []
    for spec in encrypted_columns(Base.metadata) if columns is None else columns:
        report = ColumnRotation(column=spec)
        after = 0
        while True:
            with session_scope(sessions) as session:
                res = rotate_batch(session, cipher=cipher, spec=spec, after_id=after, batch=batch)
            if res.last_id is None:
                break
            after = res.last_id
            report.rotated += res.rotated
            report.changed_meanwhile += res.changed_meanwhile
            report.failed += len(res.failed_ids)
            report.failed_ids.extend(res.failed_ids[: max(0, 10 - len(report.failed_ids))])
            if progress is not None:
                progress(report)
        reports.append(report)
    rotated, failed = sum(r.rotated for r in reports), sum(r.failed for r in reports)
    with session_scope(sessions) as session:
        record_event(session, actor=ACTOR, action="key_rotation",
                     purpose=f"active key {cipher.active_key_id}",
                     result=f"rotated {rotated}, failed {failed}", at=now or utcnow())
    return reports


def key_status(
    session: Session, *, cipher: FieldCipher, columns: Sequence[EncryptedColumn] | None = None
) -> dict[str, dict[str, int]]:
    """``{"table.column": {key id: values, …, "unknown": values under a key not in the keyring}}``."""
    out: dict[str, dict[str, int]] = {}
    for spec in encrypted_columns(Base.metadata) if columns is None else columns:
        table = _table(spec.table)
        col = table.c[spec.column]
        total = session.scalar(select(func.count()).select_from(table).where(col.is_not(None))) or 0
        counts: dict[str, int] = {}
        for kid in sorted(cipher.keys):
            mine = col.startswith(_prefix(kid), autoescape=True)
            n = session.scalar(select(func.count()).select_from(table).where(mine)) or 0
            if n:
                counts[kid] = int(n)
        unknown = int(total) - sum(counts.values())
        if unknown:
            counts["unknown"] = unknown
        out[spec.label] = counts
    return out
