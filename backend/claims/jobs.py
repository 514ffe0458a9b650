"""Jobs of the claims domain (registered with ``backend.jobs.registry``)."""

from __future__ import annotations

from backend.jobs.registry import JobKind

KINDS: list[JobKind] = []
