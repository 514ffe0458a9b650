"""Staff routes of the job queue: dead-lettered jobs (notices that could not be sent…) and resend.

Mounted under ``/staff/api``; supervisors and admins only. A resend is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from backend.audit.service import record_event
from backend.deps import DbSession, Limit, Now, Offset, RowId
from backend.errors import ERROR_RESPONSES
from backend.jobs import service as jobs
from backend.jobs.models import Job
from backend.staff.deps import StaffPrincipal, require_roles
from backend.staff.models import Role

router = APIRouter(prefix="/staff/api", tags=["jobs"], responses=ERROR_RESPONSES)
Operator = Annotated[StaffPrincipal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]


class JobOut(BaseModel):
    """A job as staff see it (no private data is ever in a job)."""

    id: int
    kind: str
    key: str
    state: str
    attempts: int
    due_at: dt.datetime
    last_error: str | None
    finished_at: dt.datetime | None
    payload: dict[str, Any]


class JobListOut(BaseModel):
    items: list[JobOut]
    limit: int
    offset: int


def job_view(row: Job) -> JobOut:
    payload = {k: v for k, v in (row.payload or {}).items() if k != "to"}  # the recipient stays out
    return JobOut(id=row.id, kind=row.kind, key=row.key, state=row.state, attempts=row.attempts,
                  due_at=row.due_at, last_error=row.last_error, finished_at=row.finished_at, payload=payload)


@router.get("/jobs/dead", response_model=JobListOut)
def dead_jobs(staff: Operator, db: DbSession, limit: Limit = 50, offset: Offset = 0,
              kind: Annotated[str | None, Query(max_length=64)] = None) -> JobListOut:
    """Jobs that failed every attempt (or could never succeed), most recent first."""
    items = [job_view(j) for j in jobs.list_dead(db, kind=kind, limit=limit, offset=offset)]
    return JobListOut(items=items, limit=limit, offset=offset)


@router.post("/jobs/{job_id}/resend", response_model=JobOut)
def resend_job(job_id: RowId, staff: Operator, db: DbSession, now: Now) -> JobOut:
    """Give a dead-lettered job a fresh set of attempts, due now (409 unless it is dead)."""
    row = jobs.resend(db, job_id=job_id, now=now)
    record_event(db, actor=staff.username, action="job_resend", object_type="job", object_id=row.id,
                 purpose="resend", ip=staff.ip, at=now)
    return job_view(row)
