"""A-04 / C-10: the audit chain is keyed (HMAC, key outside the database) and its head is anchored by
signed checkpoints outside the database, so that whoever can write the database file can neither
rewrite the log and re-chain it, nor cut its tail, without ``audit verify`` saying so."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.audit.anchor import ChainBroken, read_latest, verify_anchored, write_checkpoint
from backend.audit.jobs import run_checkpoint
from backend.audit.models import AuditRecord
from backend.audit.service import GENESIS_HASH, canonical_content, chain_key, record_event, verify_chain
from backend.runtime import Runtime
from backend.worker import job_context
from config.settings import Settings


def _append(db: Session, n: int) -> list[AuditRecord]:
    return [record_event(db, actor=f"officer{i}", action="reveal", object_type="claim", object_id=i,
                         field="insured_id_number", purpose="核对身份", ip="10.0.0.9") for i in range(n)]


def _drop_triggers(db: Session) -> None:
    for name in ("audit_records_no_update", "audit_records_no_delete"):
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text(f"DROP TRIGGER {name} ON audit_records"))
        else:
            db.execute(text(f"DROP TRIGGER {name}"))


def _rechain_without_key(db: Session, from_seq: int) -> None:
    """What an attacker with write access but without the key can do: re-hash (SHA-256, the only
    hash they can compute) every record from ``from_seq`` so that links and hashes agree again."""
    db.expire_all()
    prev = db.scalar(select(AuditRecord.hash).where(AuditRecord.seq == from_seq - 1)) or GENESIS_HASH
    for rec in db.scalars(select(AuditRecord).where(AuditRecord.seq >= from_seq).order_by(AuditRecord.seq)):
        rec.prev_hash = prev
        rec.hash = hashlib.sha256(canonical_content(rec).encode()).hexdigest()
        prev = rec.hash
    db.flush()


def _cut_tail(db: Session, keep_seq: int) -> None:
    """Delete every record after ``keep_seq`` and set the head row back, as an attacker would."""
    db.execute(text("DELETE FROM audit_records WHERE seq > :s"), {"s": keep_seq})
    db.execute(text("UPDATE audit_chain_head SET last_seq = :s"), {"s": keep_seq})
    db.expire_all()


def test_a04_rewritten_log_rechained_without_the_key_is_detected(db: Session) -> None:
    records = _append(db, 5)
    assert verify_chain(db).ok
    _drop_triggers(db)  # rolled back with the test transaction
    forged = records[2]
    db.execute(text("UPDATE audit_records SET actor = 'nobody', purpose = '系统维护' WHERE id = :i"),
               {"i": forged.id})
    _rechain_without_key(db, forged.seq)
    report = verify_chain(db)
    assert not report.ok and report.broken_seq == forged.seq and "keyed hash" in (report.reason or "")


def test_a04_whole_log_rewritten_without_the_key_is_detected(db: Session, tmp_path: Path) -> None:
    records = _append(db, 4)
    last = records[-1].seq
    write_checkpoint(db, anchor_dir=tmp_path)
    _drop_triggers(db)
    db.execute(text("UPDATE audit_records SET purpose = '例行检查' WHERE id = :i"), {"i": records[1].id})
    _rechain_without_key(db, 1)  # every record, so no keyed record is left to betray it
    assert not verify_chain(db).ok  # unkeyed records that nothing keyed seals
    result = verify_anchored(db, anchor_dir=tmp_path)
    assert not result.ok and result.chain.broken_seq == last
    assert "differs from the checkpoint" in (result.chain.reason or "")


def test_a04_cut_tail_is_detected_by_the_signed_checkpoint(db: Session, tmp_path: Path) -> None:
    records = _append(db, 5)
    last, keep = records[-1].seq, records[2].seq
    cp = write_checkpoint(db, anchor_dir=tmp_path)
    assert cp is not None and cp.seq == last
    assert verify_anchored(db, anchor_dir=tmp_path).ok
    _drop_triggers(db)
    _cut_tail(db, keep)
    assert verify_chain(db).ok  # what is left is a consistent chain: only the anchor can tell
    result = verify_anchored(db, anchor_dir=tmp_path)
    assert not result.ok and result.chain.broken_seq == last
    assert "cut" in (result.chain.reason or "")
    with pytest.raises(ChainBroken):  # and a cut chain is never signed over
        write_checkpoint(db, anchor_dir=tmp_path)


def test_a04_checkpoint_job_alerts_and_signs_nothing_over_a_cut_chain(
        db: Session, runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    records = _append(db, 3)
    ctx = job_context(runtime)
    assert ctx.audit_anchor_dir == runtime.settings.audit_anchor_dir
    first = run_checkpoint(ctx)
    assert first is not None and first.seq == records[-1].seq
    assert run_checkpoint(ctx) is None  # the head has not moved: nothing new is written
    more = _append(db, 2)
    second = run_checkpoint(ctx)
    assert second is not None and second.seq == more[-1].seq
    _drop_triggers(db)
    _cut_tail(db, records[0].seq)
    with caplog.at_level(logging.ERROR, logger="backend.audit.jobs"):
        assert run_checkpoint(ctx) is None
    assert "AUDIT CHAIN BROKEN" in caplog.text
    latest = read_latest(runtime.settings.audit_anchor_dir, key=chain_key(db)).latest
    assert latest == second


def test_a04_forged_or_edited_checkpoint_is_detected(db: Session, tmp_path: Path) -> None:
    records = _append(db, 3)
    cp = write_checkpoint(db, anchor_dir=tmp_path)
    assert cp is not None
    (path,) = tmp_path.glob("checkpoints-*.jsonl")
    line = json.loads(path.read_text().splitlines()[0])
    # An attacker moves the checkpoint back to an older record (to hide a cut tail).
    older = db.scalar(select(AuditRecord.hash).where(AuditRecord.seq == records[0].seq))
    path.write_text(json.dumps(dict(line, seq=records[0].seq, hash=older)) + "\n")
    result = verify_anchored(db, anchor_dir=tmp_path)
    assert not result.ok and "signature" in (result.chain.reason or "")


def test_a04_no_checkpoint_means_the_tail_cannot_be_checked(db: Session, tmp_path: Path) -> None:
    _append(db, 2)
    result = verify_anchored(db, anchor_dir=tmp_path / "empty")
    assert not result.ok and "no signed checkpoint" in (result.chain.reason or "")


def test_a04_records_from_before_the_key_verify_once_sealed(db: Session, tmp_path: Path) -> None:
    """A database upgraded from the unkeyed chain: its SHA-256 records are accepted as the prefix, once
    a keyed record links to them or a checkpoint signs them; nothing unkeyed may follow."""
    base = db.scalar(select(func.count()).select_from(AuditRecord)) or 0
    _append(db, 3)
    _drop_triggers(db)
    _rechain_without_key(db, 1)  # as the old code wrote them
    assert not verify_chain(db).ok  # nothing seals them yet
    assert write_checkpoint(db, anchor_dir=tmp_path) is not None  # the checkpoint seals them
    assert verify_anchored(db, anchor_dir=tmp_path).ok
    record_event(db, actor="officer9", action="read", object_type="claim", object_id=9)
    report = verify_chain(db)
    assert report.ok and report.checked == base + 4  # and so does the first keyed record


def test_a04_chain_key_is_required_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """(The published development key is refused at start-up: tests/backend/test_settings.py.)"""
    monkeypatch.delenv("CS_AUDIT__CHAIN_KEY", raising=False)
    monkeypatch.setenv("CS_MODE", "production")
    monkeypatch.setenv("CS_CRYPTO__KEYS", json.dumps({"p1": "cHJvZHVjdGlvbi1rZXktMzItYnl0ZXMtbG9uZy4uLi4="}))
    for var in ("CS_CRYPTO__BLIND_INDEX_KEY", "CS_AUTH__SESSION_SECRET"):
        monkeypatch.setenv(var, "x" * 40)
    with pytest.raises(ValidationError, match="CS_AUDIT__CHAIN_KEY"):
        Settings()
    monkeypatch.setenv("CS_AUDIT__CHAIN_KEY", "too-short")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings()
