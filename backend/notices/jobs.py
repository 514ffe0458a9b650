"""Jobs of the notifications domain (registered with ``backend.jobs.registry``).

* ``notices.send`` — one notice, one provider call per run (``sending.send_notice``);
* ``notices.claim_progress`` — the per-claim timer of the periodic progress notice, handled in
  batches of database work (``progress.progress_batch``);
* ``notices.staff_digest`` — every working morning, staff are told what falls due (``staff``);
* ``notices.wechat_receipts`` — every minute, TEMPLATESENDJOBFINISH receipts joined to notices.
"""

from __future__ import annotations

from backend.db import session_scope
from backend.hooks import JobContext, JobKind, PeriodicJob
from backend.notices.fast import send_first
from backend.notices.progress import progress_batch
from backend.notices.sending import dead_notice, send_notice
from backend.notices.service import apply_wechat_receipts
from backend.notices.staff import STAFF_DIGEST_INTERVAL_S, run_staff_digest
from backend.outbox import PROGRESS_KIND, SEND_KIND

KINDS: list[JobKind] = [
    # Retries: transient errors and channel changes are handled inside (RetryLater); these attempts
    # count runs that crashed or raised unexpectedly.
    JobKind(name=SEND_KIND, handler=send_notice, fast=send_first, max_attempts=6, backoff_base_s=15,
            backoff_cap_s=1800, lease_s=60, on_dead=dead_notice),
    JobKind(name=PROGRESS_KIND, batch_handler=progress_batch, batch_size=2000, max_attempts=10,
            backoff_base_s=30, backoff_cap_s=3600, lease_s=300),
]

def run_receipts(ctx: JobContext) -> int:
    """Join the template receipts the webhook stored to their notices (a failed one goes out again)."""
    with session_scope(ctx.sessions) as session:
        return apply_wechat_receipts(session, now=ctx.now())


JOBS: list[PeriodicJob] = [
    PeriodicJob(name="notices.wechat_receipts", interval_s=60.0, run=run_receipts),
    PeriodicJob(name="notices.staff_digest", interval_s=STAFF_DIGEST_INTERVAL_S, run=run_staff_digest),
]
