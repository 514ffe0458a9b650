"""The periodic progress notice: every N Chinese working days while a claim is open.

Each open claim has one timer row (``notices.claim_progress``, keyed by the claim id) that every state
change moves on (``outbox.notify_claim_change``). Due timers are handled in batches (database work
only): for each claim still open, one ``notices.send`` row with the claim's current stage and dates,
and the timer armed again N working days later (the same date for the whole batch: they all fire
today). A claim no longer open just lets its timer end.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.calendar.service import local_date
from backend.claims.models import Claim
from backend.hooks import JobContext, JobRow
from backend.jobs import service as jobs
from backend.outbox import (
    OPEN_CLAIM_STATES,
    SEND_KIND,
    channel_orders,
    claim_params,
    claim_recipient,
    local_time_on,
    progress_every,
)

DEFAULT_PURPOSE = "claims.reporter_phone"
_COLUMNS = (Claim.id, Claim.version, Claim.case_no, Claim.state, Claim.channel, Claim.reporter_openid,
            Claim.reporter_phone_enc, Claim.deadline_date, Claim.deadline_provisional, Claim.standards)


def progress_batch(ctx: JobContext, session: Session, rows: list[JobRow]) -> dict[int, dt.datetime]:
    """Write today's progress notices of these claims; their timers' next due times (a claim no
    longer open is left out: its timer ends)."""
    now = ctx.now()
    today = local_date(now)
    by_claim = {int(r.key): r for r in rows}
    notices: list[tuple[str, dt.datetime, dict[str, Any] | None]] = []
    again: dict[int, dt.datetime] = {}
    claims = [c for c in session.execute(select(*_COLUMNS).where(Claim.id.in_(list(by_claim))))
              if c.state in OPEN_CLAIM_STATES]
    orders = channel_orders(session, [c.reporter_openid for c in claims if c.reporter_openid])
    for claim in claims:
        row = by_claim[claim.id]
        recipient = claim_recipient(claim, phone_purpose=row.payload.get("phone_purpose", DEFAULT_PURPOSE))
        to = recipient.as_payload(orders.get(recipient.openid or ""))
        payload = {"kind": "claim_progress", "subject": ["claim", claim.id], "params": claim_params(claim),
                   "to": to, "urgent": False, "at": now.isoformat()}
        notices.append((f"claim:{claim.id}:progress:{today.isoformat()}", now, payload))
        nxt = ctx.working_calendar().add_working_days(today, progress_every(claim))
        again[row.id] = local_time_on(nxt.date)
    jobs.schedule_many(session, kind=SEND_KIND, items=notices, replace=False, now=now)
    return again
