"""Live events an agent's console receives (A-02), read once per event for all sockets of a process."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from backend.handoff import agents
from backend.handoff.events import Event
from backend.handoff.models import HandoffRequest
from backend.handoff.service import request_handoff
from backend.handoff.visibility import SocketVisibility
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from backend.staff.deps import StaffPrincipal

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)


def _agent(staff_id: int) -> StaffPrincipal:
    return StaffPrincipal(id=staff_id, username=f"a{staff_id}", role="agent", session_id=0)


def test_an_agent_gets_their_groups_queue_and_their_own_chats_and_the_database_is_asked_once(
        db: Session, cipher: FieldCipher, runtime: Runtime) -> None:
    def ask(user: str, flow: str | None = None) -> HandoffRequest:
        return request_handoff(db, channel="official_account", user_id=user, reason="asked", flow=flow,
                               cipher=cipher, now=T0)

    claims, general, taken = ask("o-v1", "claim_report"), ask("o-v2"), ask("o-v3")
    taken.status, taken.agent_id = "agent", 41
    agents.set_capacity(db, 42, 3, now=T0, groups=["general"])
    db.commit()
    batch = [Event(f"1-{i}", "handoff.message", {"handoff_id": row.id})
             for i, row in enumerate((claims, general, taken))]
    batch.append(Event("1-9", "agent.state", {"staff_id": 41}))
    vis = SocketVisibility()
    assert [e.id for e in vis.for_agent(runtime, _agent(41), batch)] == ["1-0", "1-1", "1-2", "1-9"]
    assert [e.id for e in vis.for_agent(runtime, _agent(42), batch)] == ["1-1"]  # general only, not 41's
    assert vis.queries == 3  # the conversations once, and each agent's groups once
    for staff_id in (43, 44, 45):
        vis.for_agent(runtime, _agent(staff_id), batch)
    assert vis.queries == 6  # only the new agents' groups
