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

from sqlalchemy import select, text
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
    if session.get_bind().dialect.name == "postgresql":
        every = _write_in_sql(session, rows, today=today, now=now)
    else:
        every = _write_in_python(session, rows, today=today, now=now)
    calendar = ctx.working_calendar()
    next_for = {n: local_time_on(calendar.add_working_days(today, n).date) for n in set(every.values())}
    return {job_id: next_for[n] for job_id, n in every.items()}


def _write_in_python(session: Session, rows: list[JobRow], *, today: dt.date,
                     now: dt.datetime) -> dict[int, int]:
    by_claim = {int(r.key): r for r in rows}
    notices: list[tuple[str, dt.datetime, dict[str, Any] | None]] = []
    every: dict[int, int] = {}
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
        every[row.id] = progress_every(claim)
    jobs.schedule_many(session, kind=SEND_KIND, items=notices, replace=False, now=now)
    return every


# The same notices as _write_in_python, written by PostgreSQL itself from the claims (one statement
# for the batch, no row through Python): tests/backend/notifications compares the two.
_OPEN = "('reported', 'materials_pending', 'under_review', 'approved')"
_DATED = "c.state IN ('under_review', 'approved') AND c.deadline_date IS NOT NULL"
_APP = ("CASE c.channel WHEN 'official_account' THEN 'official_account' "
        "WHEN 'mini_program' THEN 'miniprogram' END")
_PG_WRITE = text(f"""
INSERT INTO jobs (kind, key, state, due_at, payload, attempts, token, created_at, updated_at)
SELECT 'notices.send', 'claim:' || c.id || ':progress:' || CAST(:today AS text), 'pending', :now,
  json_build_object(
    'kind', 'claim_progress',
    'subject', json_build_array('claim', c.id),
    'params', json_strip_nulls(json_build_object(
      'case_no', c.case_no, 'state', c.state,
      'date', CASE WHEN {_DATED} THEN to_char(c.deadline_date, 'YYYY-MM-DD') END,
      'provisional', CASE WHEN {_DATED} THEN c.deadline_provisional END)),
    'to', json_strip_nulls(json_build_object(
      'openid', CASE WHEN ({_APP}) IS NOT NULL AND c.reporter_openid <> '' THEN c.reporter_openid END,
      'app', {_APP},
      'phone_enc', NULLIF(c.reporter_phone_enc, ''),
      'phone_purpose', COALESCE(t.payload ->> 'phone_purpose', CAST(:purpose AS text)),
      'channels', p.channels,
      'off', CASE WHEN cp.wechat IS FALSE AND cp.sms IS FALSE THEN json_build_array('wechat', 'sms')
                  WHEN cp.wechat IS FALSE THEN json_build_array('wechat')
                  WHEN cp.sms IS FALSE THEN json_build_array('sms') END)),
    'urgent', false,
    'at', CAST(:at AS text)),
  0, 0, :now, :now
FROM jobs t
JOIN claims c ON c.id = CAST(t.key AS integer)
LEFT JOIN notice_channel_preferences p ON p.openid = c.reporter_openid AND ({_APP}) IS NOT NULL
LEFT JOIN channel_preferences cp ON cp.openid = c.reporter_openid AND ({_APP}) IS NOT NULL
WHERE t.id = ANY(:ids) AND c.state IN {_OPEN}
ON CONFLICT (kind, key) DO NOTHING
""")  # noqa: S608  (only constants are formatted in; values are bound)
_PG_EVERY = text(f"""
SELECT t.id, COALESCE(CAST(c.standards ->> 'progress_notice_every_working_days' AS integer), 3)
FROM jobs t JOIN claims c ON c.id = CAST(t.key AS integer)
WHERE t.id = ANY(:ids) AND c.state IN {_OPEN}
""")  # noqa: S608


def _write_in_sql(session: Session, rows: list[JobRow], *, today: dt.date,
                  now: dt.datetime) -> dict[int, int]:
    conn = session.connection()
    ids = [r.id for r in rows]
    conn.execute(_PG_WRITE, {"ids": ids, "today": today.isoformat(), "now": now, "at": now.isoformat(),
                             "purpose": DEFAULT_PURPOSE})
    return {int(i): int(n) for i, n in conn.execute(_PG_EVERY, {"ids": ids})}
