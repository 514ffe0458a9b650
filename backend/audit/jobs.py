"""Periodic jobs of the audit domain (discovered by ``backend.worker``): a signed checkpoint of the
chain's head, written outside the database every minute when it moved (``backend.audit.anchor``)."""

from __future__ import annotations

import logging

from backend.audit.anchor import ChainBroken, Checkpoint, write_checkpoint
from backend.db import session_scope
from backend.hooks import JobContext, PeriodicJob

log = logging.getLogger(__name__)

# The most records a cut tail can take with it undetected.
CHECKPOINT_INTERVAL_S = 60.0


def run_checkpoint(ctx: JobContext) -> Checkpoint | None:
    """Write the committed head as a signed checkpoint (nothing when it has not moved, or when the
    records since the last checkpoint fail verification: that is logged as an error, an alert)."""
    if ctx.audit_anchor_dir is None:
        raise RuntimeError("the job context has no audit anchor directory")
    try:
        with session_scope(ctx.sessions) as session:
            return write_checkpoint(session, anchor_dir=ctx.audit_anchor_dir)
    except ChainBroken as exc:
        log.error("AUDIT CHAIN BROKEN at seq %s: %s; no checkpoint written", exc.report.broken_seq,
                  exc.report.reason)
        return None


JOBS: list[PeriodicJob] = [
    PeriodicJob(name="audit.checkpoint", interval_s=CHECKPOINT_INTERVAL_S, run=run_checkpoint),
]
