"""The notices in the outbox as staff see them: those due to go out, and those that could not be sent
(dead letters, which staff resend with ``POST /staff/api/jobs/{id}/resend``).

A notice waiting is a ``notices.send`` job (its payload says the kind, subject and parameters) or a
claim's periodic ``notices.claim_progress`` timer (keyed by the claim id). The recipient (openid,
encrypted phone) stays out of every view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.models import Claim
from backend.jobs.models import DEAD, OPEN, Job
from backend.jobs.service import MAX_PAGE
from backend.notices.templates import NoticeBook, TemplateError
from backend.notices.words import notice_text
from backend.outbox import PROGRESS_KIND, SEND_KIND


@dataclass(frozen=True)
class OutboxNotice:
    """One notice waiting or dead, in plain words."""

    job_id: int
    job_kind: str
    kind: str
    subject_type: str
    subject_id: int
    text: str
    state: str
    due_at: dt.datetime
    attempts: int
    last_error: str | None


def _view(job: Job, book: NoticeBook, case_nos: dict[int, str]) -> OutboxNotice:
    payload = job.payload or {}
    if job.kind == PROGRESS_KIND:
        claim_id = int(job.key)
        kind, subject, params = "claim_progress", ("claim", claim_id), {"case_no": case_nos.get(claim_id, "")}
    else:
        kind = str(payload.get("kind", ""))
        raw = payload.get("subject") or ["", 0]
        subject, params = (str(raw[0]), int(raw[1])), dict(payload.get("params") or {})
    try:
        text = notice_text(book, kind, params)
    except TemplateError:  # a kind no longer in the notices file
        text = ""
    return OutboxNotice(job_id=job.id, job_kind=job.kind, kind=kind, subject_type=subject[0],
                        subject_id=subject[1], text=text, state=job.state, due_at=job.due_at,
                        attempts=job.attempts, last_error=job.last_error)


def _views(session: Session, jobs: list[Job], book: NoticeBook) -> list[OutboxNotice]:
    claim_ids = [int(j.key) for j in jobs if j.kind == PROGRESS_KIND and j.key.isdigit()]
    case_nos: dict[int, str] = {}
    if claim_ids:
        rows = session.execute(select(Claim.id, Claim.case_no).where(Claim.id.in_(claim_ids)))
        case_nos = {int(row[0]): str(row[1]) for row in rows}
    return [_view(j, book, case_nos) for j in jobs]


def due_notices(session: Session, *, book: NoticeBook, until: dt.datetime, limit: int = 50,
                offset: int = 0) -> list[OutboxNotice]:
    """Notices waiting to go out by ``until`` (overdue ones first), periodic progress notices included."""
    q = (select(Job).where(Job.kind.in_((SEND_KIND, PROGRESS_KIND)), Job.state.in_(OPEN),
                           Job.due_at <= until)
         .order_by(Job.due_at, Job.id).limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset)))
    return _views(session, list(session.scalars(q)), book)


def dead_notices(session: Session, *, book: NoticeBook, limit: int = 50,
                 offset: int = 0) -> list[OutboxNotice]:
    """Notices no channel could deliver after every attempt, most recent first."""
    q = (select(Job).where(Job.kind.in_((SEND_KIND, PROGRESS_KIND)), Job.state == DEAD)
         .order_by(Job.finished_at.desc(), Job.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
         .offset(max(0, offset)))
    return _views(session, list(session.scalars(q)), book)
