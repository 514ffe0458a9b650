"""Signed checkpoints of the audit chain's head, written outside the database (catalogue A-04, C-10).

The keyed chain (``backend.audit.service``) stops anyone without the key from rewriting records, but
not from cutting the tail: delete the newest records, set the head row back, and what is left still
verifies. So a periodic job (``backend.audit.jobs``) appends the head it sees (sequence number, hash,
time) to a file under ``CS_AUDIT__ANCHOR_DIR``, each line signed with a key derived from the chain key.
``audit verify`` then requires the chain to reach the newest checkpoint with the same hash there:
cutting the tail (or rewriting behind it) is caught, up to the last checkpoint interval.

Point ``CS_AUDIT__ANCHOR_DIR`` at storage the database's host cannot rewrite (another volume, a
write-once bucket mounted read-append): a checkpoint is only as safe as the place it is kept.
One JSON line per checkpoint, one file per month (``checkpoints-2026-03.jsonl``), written only when the
head moved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.audit.service import ChainReport, chain_key, verify_chain
from backend.db import utcnow

_PREFIX = "checkpoints-"


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at one moment: the last sequence number and its hash, signed."""

    seq: int
    hash: str
    at: str
    mac: str


@dataclass(frozen=True)
class AnchorState:
    """The newest valid checkpoint found (None when there is none) and any problem with the files."""

    latest: Checkpoint | None
    problem: str | None = None


def _signing_key(key: bytes) -> bytes:
    """A key of its own for checkpoints, derived from the chain key."""
    return hmac.new(key, b"audit-checkpoint-v1", hashlib.sha256).digest()


def _mac(key: bytes, seq: int, head_hash: str, at: str) -> str:
    return hmac.new(_signing_key(key), f"{seq}\n{head_hash}\n{at}".encode(), hashlib.sha256).hexdigest()


def _files(anchor_dir: Path) -> list[Path]:
    if not anchor_dir.is_dir():
        return []
    return sorted(p for p in anchor_dir.iterdir() if p.name.startswith(_PREFIX) and p.suffix == ".jsonl")


def read_latest(anchor_dir: Path, *, key: bytes) -> AnchorState:
    """The newest checkpoint of the newest non-empty file; any line failing its signature is a problem."""
    for path in reversed(_files(anchor_dir)):
        latest: Checkpoint | None = None
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                cp = Checkpoint(seq=int(data["seq"]), hash=str(data["hash"]), at=str(data["at"]),
                                mac=str(data["mac"]))
            except (ValueError, KeyError, TypeError):
                return AnchorState(latest, f"checkpoint file {path.name} line {number} is not a checkpoint")
            if not hmac.compare_digest(_mac(key, cp.seq, cp.hash, cp.at), cp.mac):
                return AnchorState(latest, f"checkpoint file {path.name} line {number} fails its signature")
            if latest is None or cp.seq >= latest.seq:
                latest = cp
        if latest is not None:
            return AnchorState(latest)
    return AnchorState(None)


class ChainBroken(Exception):
    """The chain failed verification: no checkpoint is written over it."""

    def __init__(self, report: ChainReport) -> None:
        super().__init__(report.reason)
        self.report = report


def _head(session: Session) -> tuple[int, str] | None:
    row = session.execute(
        select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)).first()
    return None if row is None else (int(row[0]), str(row[1]))


def _against(session: Session, report: ChainReport, cp: Checkpoint) -> ChainReport:
    """``report`` failed unless the chain still holds the checkpoint's record with the same hash."""
    found = session.scalar(select(AuditRecord.hash).where(AuditRecord.seq == cp.seq))
    if found is None:
        return replace(report, ok=False, broken_seq=cp.seq, broken_id=None, reason=(
            f"the chain was cut: a checkpoint signed at {cp.at} saw {cp.seq} records, fewer remain"))
    if not hmac.compare_digest(found, cp.hash):
        return replace(report, ok=False, broken_seq=cp.seq, broken_id=None,
                       reason=f"record {cp.seq} differs from the checkpoint signed at {cp.at}")
    return report


def write_checkpoint(session: Session, *, anchor_dir: Path,
                     now: dt.datetime | None = None) -> Checkpoint | None:
    """Append the committed head as a signed checkpoint, unless it has not moved (then None).

    The records since the newest checkpoint are verified first (the whole chain when there is none):
    a rewritten or cut chain raises :class:`ChainBroken` and is never signed.
    """
    key = chain_key(session)
    state = read_latest(anchor_dir, key=key)
    if state.problem is not None:
        raise ChainBroken(ChainReport(False, 0, None, None, state.problem))
    head = _head(session)
    latest = state.latest
    if latest is None:
        if head is None:
            return None
        report = verify_chain(session, sealed_through=head[0])  # this checkpoint seals what it covers
    else:
        report = _against(session, ChainReport(True, 0), latest)
        if report.ok:
            report = verify_chain(session, after=(latest.seq, latest.hash))
    if not report.ok:
        raise ChainBroken(report)
    if head is None or (latest is not None and (latest.seq, latest.hash) == head):
        return None
    at = (now or utcnow()).astimezone(dt.UTC)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    cp = Checkpoint(seq=head[0], hash=head[1], at=stamp, mac=_mac(key, head[0], head[1], stamp))
    anchor_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = json.dumps({"seq": cp.seq, "hash": cp.hash, "at": cp.at, "mac": cp.mac}) + "\n"
    fd = os.open(anchor_dir / f"{_PREFIX}{at:%Y-%m}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return cp


@dataclass(frozen=True)
class AnchoredReport:
    """The chain walked and held against the newest signed checkpoint."""

    chain: ChainReport
    checkpoint: Checkpoint | None

    @property
    def ok(self) -> bool:
        return self.chain.ok


def verify_anchored(session: Session, *, anchor_dir: Path) -> AnchoredReport:
    """Verify the whole keyed chain, then that it still reaches the newest checkpoint with its hash."""
    state = read_latest(anchor_dir, key=chain_key(session))
    cp = state.latest
    report = verify_chain(session, sealed_through=cp.seq if cp else 0)
    if not report.ok:
        return AnchoredReport(report, cp)
    if state.problem is not None:
        return AnchoredReport(replace(report, ok=False, reason=state.problem), cp)
    if cp is not None:
        return AnchoredReport(_against(session, report, cp), cp)
    if report.checked == 0:
        return AnchoredReport(report, None)
    return AnchoredReport(replace(report, ok=False, reason=(
        f"no signed checkpoint in {anchor_dir}: the chain's tail cannot be checked (the worker writes "
        "one every minute, `python -m backend audit checkpoint` writes one now)")), None)
