"""Jobs of the claims domain (registered with ``backend.jobs.registry``)."""

from __future__ import annotations

from backend.hooks import JobKind

KINDS: list[JobKind] = []
