"""Jobs of the handoff domain (registered with ``backend.jobs.registry``).

* ``handoff.sla`` — the 2-minute warning, 3-minute breach and next-response timers of one chat;
* ``handoff.deliver`` — one agent or system message to the customer (WeChat or the web chat page);
* ``handoff.work_item`` — a message or call-back left outside service hours falls due;
* periodic ``handoff.assign`` — automatic assignment of waiting chats to agents with room;
* periodic ``handoff.mirror_agent_owned`` — the Redis mirror of agent-owned conversations.
"""

from __future__ import annotations

from backend.db import session_scope
from backend.handoff.messages import DELIVER_KIND
from backend.handoff.queue import SLA_KIND, WORK_ITEM_KIND
from backend.handoff.service import mirror_agent_owned
from backend.handoff.timers import dead_deliver, run_assign, run_deliver, run_sla, run_work_item
from backend.hooks import JobContext, JobKind, PeriodicJob

# How stale the Redis mirror of agent-owned conversations may get if an update was lost.
MIRROR_INTERVAL_S = 30.0
ASSIGN_INTERVAL_S = 5.0


def run_mirror(ctx: JobContext) -> int:
    """Rebuild the Redis mirror of conversations a person has taken over."""
    with session_scope(ctx.sessions) as session:
        return mirror_agent_owned(session, ctx.redis)


KINDS: list[JobKind] = [
    JobKind(name=SLA_KIND, handler=run_sla, max_attempts=10, backoff_base_s=5, backoff_cap_s=60, lease_s=60),
    JobKind(name=DELIVER_KIND, handler=run_deliver, max_attempts=6, backoff_base_s=5, backoff_cap_s=300,
            lease_s=60, on_dead=dead_deliver),
    JobKind(name=WORK_ITEM_KIND, handler=run_work_item, max_attempts=10, backoff_base_s=30, lease_s=60),
]

JOBS: list[PeriodicJob] = [
    PeriodicJob(name="handoff.mirror_agent_owned", interval_s=MIRROR_INTERVAL_S, run=run_mirror),
    PeriodicJob(name="handoff.assign", interval_s=ASSIGN_INTERVAL_S, run=run_assign),
]
