"""Staff routes over the audit log (``/staff/api/audit``): auditors only, and reading it is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.audit.anchor import verify_anchored
from backend.audit.schemas import AuditEventOut, AuditEventsOut, ChainReportOut
from backend.audit.service import list_events, record_event
from backend.db import MAX_BIGINT
from backend.deps import DbSession, Now, RuntimeDep
from backend.errors import ERROR_RESPONSES
from backend.security.masking import scrub_text
from backend.staff.deps import Auditor

router = APIRouter(prefix="/staff/api", tags=["audit"], responses=ERROR_RESPONSES)


@router.get("/audit/verify", response_model=ChainReportOut)
def audit_verify(auditor: Auditor, db: DbSession, runtime: RuntimeDep, now: Now) -> ChainReportOut:
    """Walk the keyed audit chain and hold it against the newest signed checkpoint (auditors only)."""
    result = verify_anchored(db, anchor_dir=runtime.settings.audit_anchor_dir)
    report, cp = result.chain, result.checkpoint
    record_event(db, actor=auditor.username, action="audit_verify", ip=auditor.ip,
                 result="ok" if report.ok else "broken", at=now)
    return ChainReportOut(ok=report.ok, checked=report.checked, broken_seq=report.broken_seq,
                          broken_id=report.broken_id, reason=report.reason,
                          checkpoint_seq=cp.seq if cp else None, checkpoint_at=cp.at if cp else None)


@router.get("/audit/events", response_model=AuditEventsOut)
def audit_events(
    auditor: Auditor, db: DbSession, now: Now,
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    before_seq: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditEventsOut:
    """Audit records, newest first (auditors only; reading the log is itself audited).

    A number typed into a free-text purpose (e.g. a reveal reason) is shown masked.
    """
    rows = list_events(db, object_type=object_type, object_id=object_id, actor=actor, action=action,
                       before_seq=before_seq, limit=limit)
    record_event(db, actor=auditor.username, action="audit_read", ip=auditor.ip, at=now)
    return AuditEventsOut(items=[
        AuditEventOut(seq=r.seq, at=r.at, actor=r.actor, ip=r.ip, action=r.action,
                      object_type=r.object_type, object_id=r.object_id, field=r.field,
                      purpose=scrub_text(r.purpose) if r.purpose else r.purpose,
                      result=r.result, hash=r.hash)
        for r in rows
    ])
