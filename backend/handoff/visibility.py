"""Which live events an agent's console may receive (A-02), with the database asked once per event for
all the console sockets of a process, not once per socket: with 40 agents' sockets each asking for
every batch, that check took 51-69 % of the API processes' CPU at 20 customer messages a second
(tests/bench/bench_console_latency.py). An agent sees a conversation assigned to them, or waiting in
the queue of one of their groups (an escalated one: any group), as it stood when the event was first
read; an agent's groups are re-read every few seconds. A work item's events (``work_item.*``: taken,
finished) go to the agents of its group whatever its state, so their 待办 lists update (a low rating's
follow-up only to supervisors)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import select

from backend.db import session_scope
from backend.handoff import events
from backend.handoff.console_views import agent_groups
from backend.handoff.models import HandoffRequest
from backend.runtime import Runtime
from backend.staff.deps import StaffPrincipal

# (status, skill group, agent id, escalated, reason) of the event's conversation; None: no such one
State = tuple[str, str | None, int | None, bool, str] | None


class SocketVisibility:
    """The conversations' states by event id and the agents' groups, shared by a process's sockets."""

    def __init__(self, *, groups_ttl_s: float = 5.0, max_events: int = 20_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.groups_ttl_s = groups_ttl_s
        self.max_events = max_events
        self.clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, State] = {}
        self._groups: dict[int, tuple[float, frozenset[str]]] = {}
        self.queries = 0  # database reads, for tests and the benchmark

    def for_agent(self, runtime: Runtime, staff: StaffPrincipal,
                  batch: list[events.Event]) -> list[events.Event]:
        """The events of ``batch`` this agent may receive."""
        states = self._states_of(runtime, batch)
        groups = self._groups_of(runtime, staff.id)
        out = []
        for e in batch:
            hid = e.data.get("handoff_id")
            if hid is None:
                if e.type != "agent.state" or e.data.get("staff_id") == staff.id:
                    out.append(e)
                continue
            state = states.get(e.id)
            if state is None:
                continue
            status, group, agent_id, escalated, reason = state
            if reason == "follow_up" and agent_id != staff.id:
                continue  # a low rating's follow-up is for supervisors
            item_news = e.type.startswith("work_item.") and group in groups
            if item_news or agent_id == staff.id or (status == "queued" and (escalated or group in groups)):
                out.append(e)
        return out

    def _states_of(self, runtime: Runtime, batch: list[events.Event]) -> dict[str, State]:
        with self._lock:
            known = {e.id: self._states[e.id] for e in batch if e.id in self._states}
        missing = [e for e in batch if e.id not in known and isinstance(e.data.get("handoff_id"), int)]
        if missing:
            ids = {int(e.data["handoff_id"]) for e in missing}
            h = HandoffRequest
            query = select(h.id, h.status, h.skill_group, h.agent_id, h.escalated, h.reason).where(
                h.id.in_(ids))
            with session_scope(runtime.sessions) as db:
                rows = {hid: (status, group, agent, bool(escalated), reason)
                        for hid, status, group, agent, escalated, reason in db.execute(query)}
            fresh = {e.id: rows.get(int(e.data["handoff_id"])) for e in missing}
            with self._lock:
                self.queries += 1
                if len(self._states) + len(fresh) > self.max_events:
                    self._states.clear()  # events older than that are replays: read again if asked
                for key, state in fresh.items():
                    self._states.setdefault(key, state)  # the first reading of an event stands
                known.update({key: self._states[key] for key in fresh})
        return known

    def _groups_of(self, runtime: Runtime, staff_id: int) -> frozenset[str]:
        now = self.clock()
        with self._lock:
            cached = self._groups.get(staff_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        with session_scope(runtime.sessions) as db:
            groups = frozenset(agent_groups(db, staff_id))
        with self._lock:
            self.queries += 1
            self._groups[staff_id] = (now + self.groups_ttl_s, groups)
        return groups
