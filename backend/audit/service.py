"""The audit log: append a hash-chained record, verify the chain, list records (catalogue A-04).

Each record's ``hash`` is HMAC-SHA256, keyed with the chain key (``CS_AUDIT__CHAIN_KEY``, never stored
in the database; sessions carry it in ``Session.info``, see ``backend.db.make_sessionmaker``), over its
canonical content (sequence number, time, actor, source IP, action, object type and id, field,
purpose, result) and the previous record's hash. Whoever can write the database file but lacks the key
cannot re-chain a rewritten log; cutting its tail is caught by the signed checkpoints written outside
the database (``backend.audit.anchor``). Appends lock the chain-head row first (a row lock on
PostgreSQL, the database write lock on SQLite), so concurrent writers extend the chain one at a time
and never fork it.

Records written before the chain was keyed (plain SHA-256) are accepted only as a prefix of the chain,
and only once something keyed seals them: a keyed record after them (it links to their last hash) or a
signed checkpoint at or past their end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.audit.models import AuditChainHead, AuditRecord
from backend.db import AUDIT_KEY_INFO, utcnow

GENESIS_HASH = "0" * 64
_HEAD_ID = 1
_LIMITS = {"actor": 100, "ip": 64, "action": 64, "object_type": 64, "object_id": 64, "field": 64,
           "purpose": 500, "result": 32}


def _clip(name: str, value: str | None) -> str | None:
    """Values longer than their column are cut (before hashing, so the hash matches the row)."""
    if value is None:
        return None
    return value[: _LIMITS[name]]


def _format_at(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Hashable(Protocol):
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
    prev_hash: str


_COLUMNS = (AuditRecord.id, AuditRecord.seq, AuditRecord.at, AuditRecord.actor, AuditRecord.ip,
            AuditRecord.action, AuditRecord.object_type, AuditRecord.object_id, AuditRecord.field,
            AuditRecord.purpose, AuditRecord.result, AuditRecord.prev_hash, AuditRecord.hash)


def canonical_content(record: _Hashable) -> str:
    """The exact text that a record's hash covers."""
    body = {
        "seq": record.seq,
        "at": _format_at(record.at),
        "actor": record.actor,
        "ip": record.ip,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "field": record.field,
        "purpose": record.purpose,
        "result": record.result,
        "prev_hash": record.prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chain_key(session: Session) -> bytes:
    """The chain's HMAC key carried by the session (from the settings, never from the database)."""
    key = session.info.get(AUDIT_KEY_INFO)
    if not isinstance(key, bytes) or not key:
        raise RuntimeError("audit chain key missing: build sessions with make_sessionmaker(audit_key=...)")
    return key


def compute_hash(record: _Hashable, *, key: bytes) -> str:
    """HMAC-SHA256 (hex) of the record's canonical content under the chain key."""
    return hmac.new(key, canonical_content(record).encode(), hashlib.sha256).hexdigest()


def _unkeyed_hash(record: _Hashable) -> str:
    """SHA-256 of the canonical content: how records were hashed before the chain was keyed."""
    return hashlib.sha256(canonical_content(record).encode()).hexdigest()


def _lock_head(session: Session) -> None:
    """Take the chain lock: a write to the head row, creating it the first time."""
    result = session.execute(
        update(AuditChainHead).where(AuditChainHead.id == _HEAD_ID)
        .values(last_seq=AuditChainHead.last_seq)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0):
        return
    try:
        with session.begin_nested():
            session.add(AuditChainHead(id=_HEAD_ID, last_seq=0))
    except IntegrityError:
        pass  # another writer created it first; lock it below
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == _HEAD_ID)
        .values(last_seq=AuditChainHead.last_seq)
        .execution_options(synchronize_session=False)
    )


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    field: str | None = None,
    purpose: str | None = None,
    ip: str | None = None,
    result: str = "ok",
    at: dt.datetime | None = None,
) -> AuditRecord:
    """Append one record to the chain (flushes; the caller's transaction commits it)."""
    _lock_head(session)
    last = session.execute(
        select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    seq = (last.seq if last else 0) + 1
    record = AuditRecord(
        seq=seq,
        at=at or utcnow(),
        actor=_clip("actor", actor) or "",
        ip=_clip("ip", ip),
        action=_clip("action", action) or "",
        object_type=_clip("object_type", object_type),
        object_id=_clip("object_id", None if object_id is None else str(object_id)),
        field=_clip("field", field),
        purpose=_clip("purpose", purpose),
        result=_clip("result", result) or "",
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    record.hash = compute_hash(record, key=chain_key(session))
    session.add(record)
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == _HEAD_ID).values(last_seq=seq)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return record


def record_reads(
    session: Session,
    *,
    actor: str,
    object_type: str,
    object_ids: Iterable[int],
    purpose: str,
    ip: str | None = None,
    at: dt.datetime | None = None,
) -> None:
    """One ``read`` record per object a staff member was shown (A-04)."""
    for object_id in object_ids:
        record_event(session, actor=actor, action="read", object_type=object_type, object_id=object_id,
                     purpose=purpose, ip=ip, at=at)


@dataclass(frozen=True)
class ChainReport:
    """The outcome of walking the chain: OK, or the first broken record and why."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str | None = None


def verify_chain(session: Session, *, batch_size: int = 1000, sealed_through: int = 0,
                 after: tuple[int, str] | None = None) -> ChainReport:
    """Walk the records in order and check sequence, links and keyed hashes, and the head row.

    ``sealed_through``: the sequence number of a verified signed checkpoint (it seals unkeyed
    records up to there). ``after``: a trusted (sequence number, hash), e.g. a checkpoint already
    matched: only the records after it are walked (``checked`` counts those).
    """
    key = chain_key(session)
    expected_seq, prev_hash = (after[0] + 1, after[1]) if after else (1, GENESIS_HASH)
    checked = 0
    unkeyed_until = 0  # the last record of the unkeyed prefix, if any
    keyed_seen = after is not None  # nothing unkeyed may follow a checkpoint
    # The head first, and no record past it: appends committed during the walk are not half-seen.
    head_seq = session.scalar(select(AuditChainHead.last_seq).where(AuditChainHead.id == _HEAD_ID))
    while True:
        # Plain rows (not ORM objects): a long chain does not pile up in the session.
        stmt = select(*_COLUMNS).where(AuditRecord.seq >= expected_seq)
        if head_seq is not None:
            stmt = stmt.where(AuditRecord.seq <= head_seq)
        rows = session.execute(stmt.order_by(AuditRecord.seq).limit(batch_size)).all()
        if not rows:
            break
        for rec in rows:
            if rec.seq != expected_seq:
                return ChainReport(False, checked, rec.seq, rec.id, f"missing record(s) before seq {rec.seq}")
            if rec.prev_hash != prev_hash:
                return ChainReport(False, checked, rec.seq, rec.id, "link to previous record broken")
            if hmac.compare_digest(compute_hash(rec, key=key), rec.hash):
                keyed_seen = True
            elif not keyed_seen and hmac.compare_digest(_unkeyed_hash(rec), rec.hash):
                unkeyed_until = rec.seq
            else:
                return ChainReport(False, checked, rec.seq, rec.id,
                                   "content does not match its keyed hash")
            prev_hash = rec.hash
            expected_seq += 1
            checked += 1
    if head_seq is not None and head_seq != expected_seq - 1:
        return ChainReport(False, checked, expected_seq, None,
                           f"chain head says {head_seq} records, found {expected_seq - 1}")
    if unkeyed_until and not keyed_seen and sealed_through < unkeyed_until:
        return ChainReport(False, checked, 1, None,
                           f"records 1 to {unkeyed_until} were hashed without the chain key and nothing "
                           "keyed seals them yet (a new audit record or a checkpoint will)")
    return ChainReport(True, checked)


def list_events(
    session: Session,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> list[AuditRecord]:
    """Newest records first, filtered; page with ``before_seq``."""
    stmt = select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(max(1, min(limit, 500)))
    if object_type is not None:
        stmt = stmt.where(AuditRecord.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditRecord.object_id == object_id)
    if actor is not None:
        stmt = stmt.where(AuditRecord.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditRecord.action == action)
    if before_seq is not None:
        stmt = stmt.where(AuditRecord.seq < before_seq)
    return list(session.scalars(stmt).all())
