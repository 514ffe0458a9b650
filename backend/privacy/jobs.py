"""Periodic jobs of the privacy domain (registered with ``backend.jobs.registry``): the daily
retention job (D-05) anonymises closed records past the retention period."""

from __future__ import annotations

import logging

from backend.db import session_scope
from backend.hooks import JobContext, PeriodicJob
from backend.privacy.retention import RetentionResult, apply_retention

log = logging.getLogger(__name__)

RETENTION_INTERVAL_S = 24 * 3600.0


def run_retention(ctx: JobContext) -> RetentionResult:
    """One run in its own transaction (idempotent: a second run the same day changes nothing)."""
    with session_scope(ctx.sessions) as session:
        result = apply_retention(session, cipher=ctx.cipher, catalog=ctx.catalog, now=ctx.now())
    if any(result.anonymised.values()):
        log.info("retention: anonymised %s", result.anonymised)
    return result


JOBS: list[PeriodicJob] = [
    # D-05: claims, complaints and home visits closed longer than the retention period.
    PeriodicJob(name="privacy.retention", interval_s=RETENTION_INTERVAL_S, run=run_retention),
]
