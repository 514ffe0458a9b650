"""Periodic jobs of the claims domain (discovered by ``backend.worker``)."""

from __future__ import annotations

from backend.privacy.jobs import RETENTION_INTERVAL_S, run_retention
from backend.worker import PeriodicJob

JOBS: list[PeriodicJob] = [
    # D-05: claims, complaints and home visits closed longer than the retention period.
    PeriodicJob(name="privacy.retention", interval_s=RETENTION_INTERVAL_S, run=run_retention),
]
