"""The daily retention job (D-05): anonymise closed records past the retention period."""

from __future__ import annotations

import logging

from backend.db import session_scope, utcnow
from backend.privacy.retention import RetentionResult, apply_retention
from backend.runtime import Runtime

log = logging.getLogger(__name__)

RETENTION_INTERVAL_S = 24 * 3600.0


def run_retention(runtime: Runtime) -> RetentionResult:
    """One run in its own transaction (idempotent: a second run the same day changes nothing)."""
    with session_scope(runtime.sessions) as session:
        result = apply_retention(session, cipher=runtime.cipher, catalog=runtime.catalog, now=utcnow())
    if any(result.anonymised.values()):
        log.info("retention: anonymised %s", result.anonymised)
    return result
