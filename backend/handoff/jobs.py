"""Periodic jobs of the handoff domain (registered with ``backend.jobs.registry``)."""

from __future__ import annotations

from backend.db import session_scope
from backend.handoff.service import mirror_agent_owned
from backend.hooks import JobContext, PeriodicJob

# How stale the Redis mirror of agent-owned conversations may get if an update was lost.
MIRROR_INTERVAL_S = 30.0


def run_mirror(ctx: JobContext) -> int:
    """Rebuild the Redis mirror of conversations a person has taken over."""
    with session_scope(ctx.sessions) as session:
        return mirror_agent_owned(session, ctx.redis)


JOBS: list[PeriodicJob] = [
    PeriodicJob(name="handoff.mirror_agent_owned", interval_s=MIRROR_INTERVAL_S, run=run_mirror),
]
