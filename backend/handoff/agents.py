"""Agents: profiles (capacity, skill groups, chosen state) in the database, presence as a Redis
heartbeat key with a short TTL (a closed browser makes the agent away within a minute), and the load
(open chats) of each agent online."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.errors import Conflict, ServiceError
from backend.handoff.models import AGENT_STATES, GROUPS, WORK_ITEM_REASONS, AgentProfile, HandoffRequest
from backend.staff.models import Role, StaffUser

HEARTBEAT_TTL_S = 60
DEFAULT_CAPACITY = 3
MAX_CAPACITY = 20


def heartbeat_key(staff_id: int) -> str:
    return f"handoff:agent:{staff_id}:alive"


@dataclass(frozen=True)
class AgentLoad:
    staff_id: int
    state: str
    load: int
    capacity: int
    groups: tuple[str, ...]

    @property
    def room(self) -> int:
        return max(0, self.capacity - self.load)


def profile(session: Session, staff_id: int, *, now: dt.datetime | None = None) -> AgentProfile:
    """The agent's profile, created with the defaults (capacity 3, every group, away) the first time."""
    row = session.get(AgentProfile, staff_id)
    if row is None:
        row = AgentProfile(staff_id=staff_id, capacity=DEFAULT_CAPACITY, groups=list(GROUPS), state="away")
        if now is not None:
            row.updated_at = now
        session.add(row)
        session.flush()
    return row


def heartbeat(redis_client: redis.Redis, staff_id: int, now: dt.datetime) -> None:
    """The agent's console is open: keep the presence key alive for another minute."""
    redis_client.set(heartbeat_key(staff_id), int(now.timestamp()), ex=HEARTBEAT_TTL_S)


def set_state(
    session: Session, redis_client: redis.Redis, staff_id: int, state: str, now: dt.datetime
) -> AgentProfile:
    """online (takes new chats) / busy (keeps its chats, no new ones) / away."""
    if state not in AGENT_STATES:
        raise ServiceError("bad_agent_state", "状态不对", detail={"state": state})
    row = profile(session, staff_id, now=now)
    row.state = state
    row.updated_at = now
    session.flush()
    if state == "away":
        redis_client.delete(heartbeat_key(staff_id))
    else:
        heartbeat(redis_client, staff_id, now)
    return row


def set_capacity(
    session: Session, staff_id: int, capacity: int, *, now: dt.datetime, groups: list[str] | None = None
) -> AgentProfile:
    """A supervisor sets how many chats the agent handles at once (and optionally the groups)."""
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ServiceError(
            "bad_capacity", f"同时接待数要在1到{MAX_CAPACITY}之间", detail={"capacity": capacity}
        )
    row = profile(session, staff_id, now=now)
    row.capacity = capacity
    if groups is not None:
        unknown = [g for g in groups if g not in GROUPS]
        if unknown or not groups:
            raise ServiceError("bad_groups", "技能组不对", detail={"groups": groups})
        row.groups = list(groups)
    row.updated_at = now
    session.flush()
    return row


def loads(session: Session) -> dict[int, int]:
    """Open chats per agent (work items taken are not chats: they take no chat slot)."""
    rows = session.execute(
        select(HandoffRequest.agent_id, func.count())
        .where(HandoffRequest.status == "agent", HandoffRequest.agent_id.is_not(None),
               HandoffRequest.reason.not_in(WORK_ITEM_REASONS))
        .group_by(HandoffRequest.agent_id)
    ).all()
    return {int(agent): int(n) for agent, n in rows if agent is not None}


def present(redis_client: redis.Redis, staff_ids: list[int]) -> set[int]:
    """Which of these agents have a live heartbeat."""
    if not staff_ids:
        return set()
    pipe = redis_client.pipeline(transaction=False)
    for staff_id in staff_ids:
        pipe.exists(heartbeat_key(staff_id))
    return {s for s, alive in zip(staff_ids, pipe.execute(), strict=True) if alive}


def online_agents(session: Session, redis_client: redis.Redis, group: str | None = None) -> list[AgentLoad]:
    """Agents whose console is alive and who are not away (online or busy), with their load; an
    expired heartbeat counts as away whatever the saved state says."""
    profiles = [
        p
        for p in session.scalars(select(AgentProfile).where(AgentProfile.state != "away"))
        if group is None or group in (p.groups or [])
    ]
    alive = present(redis_client, [p.staff_id for p in profiles])
    load = loads(session)
    return [
        AgentLoad(
            staff_id=p.staff_id,
            state=p.state,
            load=load.get(p.staff_id, 0),
            capacity=p.capacity,
            groups=tuple(p.groups or ()),
        )
        for p in profiles
        if p.staff_id in alive
    ]


def all_agents(session: Session, redis_client: redis.Redis) -> list[AgentLoad]:
    """Every agent with a profile, state ``away`` when the heartbeat expired (the supervisor's view)."""
    profiles = list(session.scalars(select(AgentProfile).order_by(AgentProfile.staff_id)))
    alive = present(redis_client, [p.staff_id for p in profiles])
    load = loads(session)
    return [
        AgentLoad(
            staff_id=p.staff_id,
            state=p.state if p.staff_id in alive else "away",
            load=load.get(p.staff_id, 0),
            capacity=p.capacity,
            groups=tuple(p.groups or ()),
        )
        for p in profiles
    ]


CONSOLE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})  # who works in the console


def check_transfer_target(
    session: Session, redis_client: redis.Redis, *, row: HandoffRequest, to_agent_id: int, supervisor: bool
) -> None:
    """The colleague a chat is handed to can answer it now: an active console account, present (not
    away: the clock keeps running while nobody reads it) and, unless a supervisor decides, serving the
    chat's group (or the chat is escalated) with room for one more."""
    user = session.get(StaffUser, to_agent_id)
    if user is None or user.disabled or user.role not in CONSOLE_ROLES:
        raise ServiceError("bad_transfer_target", "没有这位同事，或他不能接待客户", status_code=422,
                           detail={"to_agent_id": to_agent_id})
    if to_agent_id == row.agent_id:
        raise ServiceError("bad_transfer_target", "这个会话已经在这位同事手上", status_code=422,
                           detail={"to_agent_id": to_agent_id})
    present_agents = {a.staff_id: a for a in online_agents(session, redis_client)}
    target = present_agents.get(to_agent_id)
    if target is None:
        raise Conflict("agent_away", "这位同事现在不在线，请转给在线的同事，或转回组里排队",
                       detail={"to_agent_id": to_agent_id})
    if supervisor:
        return
    if not row.escalated and row.skill_group not in target.groups:
        raise Conflict("agent_not_in_group", "这位同事不接待这一组的客户，请转给组里排队",
                       detail={"to_agent_id": to_agent_id, "group": row.skill_group})
    if target.room < 1:
        raise Conflict("agent_full", "这位同事手上的会话已满，请转给别的同事或转回组里排队",
                       detail={"to_agent_id": to_agent_id, "load": target.load, "capacity": target.capacity})
