"""The agent console's HTTP API (``/api/console``): cookie login with CSRF, the queue and the agent's
own conversations, the work items (待办, ``workitems_api``), one conversation's view and actions,
presence, the supervisor's agents and dashboard, canned replies, and the live event WebSocket.

Identity and roles stay in ``backend.staff``; the queue logic is ``backend.handoff.console``; this
module only checks who may do what, shapes answers and audits reads of chat texts.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.deps import Now, RedisDep, RowId, RuntimeDep, WriteDbSession
from backend.errors import ERROR_RESPONSES, Conflict, Forbidden, NotFound, ServiceError
from backend.handoff.actions import claim_moves
from backend.handoff.agents import all_agents, check_transfer_target, heartbeat, set_capacity, set_state
from backend.handoff.auth_api import router as auth_router
from backend.handoff.console import assign_waiting, close, note, reply, take, transfer
from backend.handoff.console_auth import (
    SUPERVISORS,
    _console_role,
    console_staff,
    readable_ids,
)
from backend.handoff.console_views import agent_groups, conversation_view, customer_label
from backend.handoff.effects import emit
from backend.handoff.live_api import router as live_router
from backend.handoff.models import WORK_ITEM_REASONS, HandoffRequest
from backend.handoff.pictures_api import router as pictures_router
from backend.handoff.queue import waiting
from backend.handoff.schemas import (
    AgentOut,
    AgentsOut,
    CannedListOut,
    CannedOut,
    CapacityIn,
    CaseOut,
    CloseIn,
    ConversationOut,
    CustomerOut,
    DashboardOut,
    DispositionOut,
    HandoffOut,
    MessageOut,
    MessageSentOut,
    MineItemOut,
    MineOut,
    OkOut,
    PresenceIn,
    QueueItemOut,
    QueueOut,
    TextIn,
    TransferIn,
)
from backend.handoff.stats import dashboard, sla_of
from backend.handoff.takeover_api import router as takeover_router
from backend.handoff.workitems_api import router as work_items_router
from backend.staff.deps import StaffPrincipal
from backend.staff.models import StaffUser
from config.settings import CONFIG_DIR

Db = WriteDbSession  # every console request also writes (its staff session, audit rows)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/console", tags=["console"], responses=ERROR_RESPONSES)
router.include_router(auth_router)
router.include_router(live_router)
router.include_router(pictures_router)
router.include_router(work_items_router)
router.include_router(takeover_router)

ConsoleStaff = Annotated[StaffPrincipal, Depends(console_staff)]


def _supervisor(staff: StaffPrincipal) -> StaffPrincipal:
    if staff.role not in SUPERVISORS:
        raise Forbidden("forbidden", "只有主管可以做这件事", detail={"allowed_roles": sorted(SUPERVISORS)})
    return staff


def agent_dep(staff: ConsoleStaff) -> StaffPrincipal:
    return _console_role(staff)


def supervisor_dep(staff: ConsoleStaff) -> StaffPrincipal:
    return _supervisor(staff)


Agent = Annotated[StaffPrincipal, Depends(agent_dep)]
Supervisor = Annotated[StaffPrincipal, Depends(supervisor_dep)]


# --- canned replies ----------------------------------------------------------------------------------

@functools.cache
def console_config() -> dict[str, Any]:
    """``config/console.yaml``: canned replies and close dispositions."""
    data: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "console.yaml").read_text(encoding="utf-8"))
    return data


@router.get("/canned", response_model=CannedListOut)
def console_canned(staff: Agent) -> CannedListOut:
    """Canned replies (searchable in the chat box with ``/``) and the dispositions of closing."""
    cfg = console_config()
    return CannedListOut(items=[CannedOut(**c) for c in cfg.get("canned", [])],
                         dispositions=[DispositionOut(**d) for d in cfg.get("dispositions", [])])


# --- the queue and my conversations ------------------------------------------------------------------

def _row(db: Session, handoff_id: int) -> HandoffRequest:
    row = db.get(HandoffRequest, handoff_id)
    if row is None:
        raise NotFound("not_found", "找不到这个会话")
    return row


def _readable(db: Session, staff: StaffPrincipal, handoff_id: int) -> HandoffRequest:
    """The conversation, or 403 when an agent may not read it (A-02: not queued for their groups,
    not theirs); every refusal is audited."""
    row = _row(db, handoff_id)
    if not readable_ids(db, staff_id=staff.id, role=staff.role, ids={row.id}):
        record_event(db, actor=staff.username, action="read", object_type="handoff", object_id=row.id,
                     ip=staff.ip, result="refused: forbidden")
        db.commit()  # the refusal stays on record although the request fails
        raise Forbidden("forbidden", "这个会话不归您处理")
    return row


def _item(row: HandoffRequest, now: dt.datetime) -> dict[str, Any]:
    answered = row.first_response_at is not None
    since = row.waiting_since if answered else row.queued_at
    wait = max(0, int((now - since).total_seconds())) if since else 0
    return {"id": row.id, "reason": row.reason, "priority": row.priority, "skill_group": row.skill_group,
            "queued_at": row.queued_at, "wait_s": wait,
            "sla": sla_of(wait, escalated=bool(row.escalated), answered=answered and since is None),
            "snippet": row.summary_snippet, "customer": customer_label(row),
            "escalated": bool(row.escalated), "agent_id": row.agent_id}


@router.get("/queue", response_model=QueueOut)
def console_queue(staff: Agent, db: Db, now: Now) -> QueueOut:
    """Waiting conversations, most urgent then oldest first: an agent sees their groups' (and every
    escalated one), a supervisor all."""
    groups = None if staff.role in SUPERVISORS else agent_groups(db, staff.id)
    rows = waiting(db, groups=groups)
    return QueueOut(items=[QueueItemOut(**_item(r, now)) for r in rows])


@router.get("/mine", response_model=MineOut)
def console_mine(staff: Agent, db: Db, now: Now) -> MineOut:
    """The conversations this staff member has, with unread customer messages."""
    rows = list(db.scalars(select(HandoffRequest).where(HandoffRequest.agent_id == staff.id,
                                                        HandoffRequest.status == "agent",
                                                        HandoffRequest.reason.not_in(WORK_ITEM_REASONS))
                           .order_by(HandoffRequest.assigned_at)))
    return MineOut(items=[MineItemOut(**_item(r, now), unread=r.unread or 0, status=r.status) for r in rows])


# --- one conversation --------------------------------------------------------------------------------

@router.get("/conversations/{handoff_id}", response_model=ConversationOut)
def console_conversation(handoff_id: RowId, staff: Agent, db: Db, runtime: RuntimeDep,
                         now: Now) -> ConversationOut:
    """The whole history (bot turns with intent and confidence, customer and agent messages, notes),
    the customer's masked profile, claims and complaints. The read is audited (A-04)."""
    row = _readable(db, staff, handoff_id)
    record_event(db, actor=staff.username, action="read", object_type="handoff", object_id=row.id,
                 field="transcript", purpose="console", ip=staff.ip, at=now)
    if row.agent_id == staff.id and row.unread:
        row.unread = 0  # the owner has seen the customer's messages
    handoff = _handoff_out(row, now)
    view = conversation_view(db, row, cipher=runtime.cipher)
    return ConversationOut(handoff=handoff, messages=[MessageOut(**m) for m in view["messages"]],
                           customer=CustomerOut(label=customer_label(row), **view["customer"]),
                           claims=[CaseOut(**c, moves=claim_moves(db, staff.role, c["id"]))
                                   for c in view["claims"]],
                           complaints=[CaseOut(**c) for c in view["complaints"]])


@router.post("/conversations/{handoff_id}/take", response_model=HandoffOut)
def console_take(handoff_id: RowId, staff: Agent, db: Db, redis_client: RedisDep, runtime: RuntimeDep,
                 now: Now) -> HandoffOut:
    """Take a waiting conversation (one winner when two agents race: 409 ``already_taken``, A-06).
    A supervisor may take one another agent has (a reassignment to themselves, audited)."""
    row = _row(db, handoff_id)
    if staff.role not in SUPERVISORS and row.status == "agent" and row.agent_id != staff.id \
            and (row.escalated or row.skill_group in agent_groups(db, staff.id)):
        raise Conflict("already_taken", "这个会话已经被别的同事接了", detail={"handoff_id": row.id})
    row = _readable(db, staff, handoff_id)
    if row.status == "agent" and staff.role in SUPERVISORS and row.agent_id != staff.id:
        transfer(db, handoff_id=row.id, staff_id=staff.id, to_agent_id=staff.id, note="主管接手", now=now,
                 cipher=runtime.cipher, redis=redis_client, supervisor=True)
    else:
        take(db, handoff_id=row.id, staff_id=staff.id, now=now, redis=redis_client)
    return _handoff_out(_row(db, handoff_id), now)


@router.post("/conversations/{handoff_id}/reply", response_model=MessageSentOut)
def console_reply(handoff_id: RowId, body: TextIn, staff: Agent, db: Db, redis_client: RedisDep,
                  runtime: RuntimeDep, now: Now) -> MessageSentOut:
    """Answer the customer (sent by the delivery job: WeChat customer-service message or web chat)."""
    row = _readable(db, staff, handoff_id)
    msg = reply(db, handoff_id=row.id, staff_id=staff.id, text=body.text, now=now, cipher=runtime.cipher,
                redis=redis_client, supervisor=staff.role in SUPERVISORS)
    return MessageSentOut(id=msg.id, delivery=msg.delivery)


@router.post("/conversations/{handoff_id}/note", response_model=MessageSentOut)
def console_note(handoff_id: RowId, body: TextIn, staff: Agent, db: Db, redis_client: RedisDep,
                 runtime: RuntimeDep, now: Now) -> MessageSentOut:
    """A private note: colleagues see it, the customer never does."""
    row = _readable(db, staff, handoff_id)
    msg = note(db, handoff_id=row.id, staff_id=staff.id, text=body.text, now=now, cipher=runtime.cipher,
               redis=redis_client)
    return MessageSentOut(id=msg.id, delivery=msg.delivery)


@router.post("/conversations/{handoff_id}/transfer", response_model=HandoffOut)
def console_transfer(handoff_id: RowId, body: TransferIn, staff: Agent, db: Db, redis_client: RedisDep,
                     runtime: RuntimeDep, now: Now) -> HandoffOut:
    """Hand the conversation to an agent or a group, with a note (the clock keeps running)."""
    if (body.to_agent_id is None) == (body.to_group is None):
        raise ServiceError("bad_transfer", "请选择转给一位客服或一个组（二选一）", status_code=422)
    row = _readable(db, staff, handoff_id)
    if body.to_agent_id is not None:
        check_transfer_target(db, redis_client, row=row, to_agent_id=body.to_agent_id,
                              supervisor=staff.role in SUPERVISORS)
    transfer(db, handoff_id=row.id, staff_id=staff.id, to_agent_id=body.to_agent_id, to_group=body.to_group,
             note=body.note, now=now, cipher=runtime.cipher, redis=redis_client,
             supervisor=staff.role in SUPERVISORS)
    return _handoff_out(_row(db, handoff_id), now)


@router.post("/conversations/{handoff_id}/close", response_model=HandoffOut)
def console_close(handoff_id: RowId, body: CloseIn, staff: Agent, db: Db, redis_client: RedisDep,
                  runtime: RuntimeDep, now: Now) -> HandoffOut:
    """Close with a disposition and a summary; the customer is asked to rate the service."""
    keys = {d["key"] for d in console_config().get("dispositions", [])}
    if body.disposition not in keys:
        raise ServiceError("bad_disposition", "请选择处理结果", detail={"allowed": sorted(keys)},
                           status_code=422)
    row = _readable(db, staff, handoff_id)
    close(db, handoff_id=row.id, staff_id=staff.id, disposition=body.disposition, summary=body.summary,
          now=now, cipher=runtime.cipher, redis=redis_client, supervisor=staff.role in SUPERVISORS)
    assign_waiting(db, redis_client, now)  # the agent has room for the next waiting customer
    return _handoff_out(_row(db, handoff_id), now)


def _handoff_out(row: HandoffRequest, now: dt.datetime) -> HandoffOut:
    item = _item(row, now)
    return HandoffOut(id=row.id, channel=row.channel, status=row.status, reason=row.reason,
                      priority=row.priority, skill_group=row.skill_group, agent_id=row.agent_id,
                      queued_at=row.queued_at, assigned_at=row.assigned_at,
                      first_response_at=row.first_response_at, closed_at=row.closed_at,
                      disposition=row.disposition, escalated=bool(row.escalated), sla=item["sla"],
                      wait_s=item["wait_s"])


# --- presence, agents, dashboard ---------------------------------------------------------------------

@router.post("/presence", response_model=OkOut)
def console_presence(body: PresenceIn, staff: Agent, db: Db, redis_client: RedisDep,
                     now: Now) -> OkOut:
    """Online (new chats come), busy (no new chats) or away."""
    set_state(db, redis_client, staff.id, body.state, now)
    record_event(db, actor=staff.username, action="handoff.agent_state", object_type="staff",
                 object_id=staff.id, field="state", purpose=body.state, ip=staff.ip, at=now)
    emit(db, redis_client, "agent.state", {"staff_id": staff.id, "state": body.state})
    if body.state == "online":
        assign_waiting(db, redis_client, now)
    return OkOut()


@router.post("/heartbeat", response_model=OkOut)
def console_heartbeat(staff: Agent, redis_client: RedisDep, now: Now) -> OkOut:
    """The page is open (without it for a minute the agent counts as away)."""
    heartbeat(redis_client, staff.id, now)
    return OkOut()


@router.get("/agents", response_model=AgentsOut)
def console_agents(staff: Supervisor, db: Db, redis_client: RedisDep) -> AgentsOut:
    """Agents with their state and load n/N."""
    return AgentsOut(items=_agents(db, redis_client))


@router.put("/agents/{staff_id}/capacity", response_model=OkOut)
def console_capacity(staff_id: RowId, body: CapacityIn, staff: Supervisor, db: Db, now: Now) -> OkOut:
    """How many chats an agent has at once (default 3)."""
    if db.get(StaffUser, staff_id) is None:
        raise NotFound("not_found", "没有这位同事")
    set_capacity(db, staff_id, body.capacity, now=now)
    record_event(db, actor=staff.username, action="handoff.capacity", object_type="staff", object_id=staff_id,
                 field="capacity", purpose=str(body.capacity), ip=staff.ip, at=now)
    return OkOut()


@router.get("/dashboard", response_model=DashboardOut)
def console_dashboard(staff: Supervisor, db: Db, redis_client: RedisDep, runtime: RuntimeDep,
                      now: Now) -> DashboardOut:
    """The supervisor's figures: queue now, today's response times, breaches, satisfaction, buckets."""
    data = dashboard(db, now=now, timezone=runtime.settings.timezone)
    return DashboardOut(**data, agents=_agents(db, redis_client), timezone=runtime.settings.timezone)


def _agents(db: Session, client: Redis) -> list[AgentOut]:
    """Every agent with a profile: state (away when the heartbeat expired) and load n/N."""
    loads = all_agents(db, client)
    names = {i: n for i, n in db.execute(select(StaffUser.id, StaffUser.username)
                                         .where(StaffUser.id.in_([a.staff_id for a in loads])))}
    return [AgentOut(staff_id=a.staff_id, username=names.get(a.staff_id), state=a.state, load=a.load,
                     capacity=a.capacity) for a in loads]
