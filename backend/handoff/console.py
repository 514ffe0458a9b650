"""The agent's side of a handoff: take (one winner, A-06), automatic assignment, reply, private note,
transfer, close, and who may read a conversation. Every state change is audited and published as a
console event after commit; services never commit (the route or job does)."""

from __future__ import annotations

import datetime as dt

import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.errors import Conflict, Forbidden, NotFound, ServiceError
from backend.handoff import copy
from backend.handoff.agents import AgentLoad, online_agents
from backend.handoff.effects import after_commit, emit, wake_worker
from backend.handoff.messages import MAX_TEXT, add_message, clean_text
from backend.handoff.models import (
    GROUPS,
    PURPOSE_CLOSE_SUMMARY,
    WORK_ITEM_REASONS,
    HandoffMessage,
    HandoffRequest,
)
from backend.handoff.queue import SLA_KIND, disarm_first_response, waiting
from backend.handoff.service import set_agent_owned
from backend.handoff.workitems import OUTCOMES  # how a work item may end
from backend.jobs import service as jobs
from backend.security.crypto import FieldCipher
from backend.security.masking import scrub_text
from backend.staff.models import Role

SUPERVISOR_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
DISPOSITIONS = ("resolved", "follow_up", "claim_created", "complaint_created", "no_reply", "other")


def _actor(staff_id: int | None) -> str:
    return f"staff:{staff_id}" if staff_id is not None else "system"


def _audit(
    session: Session, staff_id: int | None, action: str, row: HandoffRequest, now: dt.datetime
) -> None:
    record_event(
        session, actor=_actor(staff_id), action=action, object_type="handoff", object_id=row.id, at=now
    )


def get(session: Session, handoff_id: int) -> HandoffRequest:
    row = session.get(HandoffRequest, handoff_id)
    if row is None:
        raise NotFound("handoff_not_found", "没有这个会话", detail={"handoff_id": handoff_id})
    return row


def _mirror(session: Session, client: redis.Redis | None, row: HandoffRequest, owned: bool) -> None:
    if client is not None:
        channel, user_id = row.channel, row.user_id
        after_commit(session, lambda: set_agent_owned(client, channel=channel, user_id=user_id, owned=owned))


def _own(row: HandoffRequest, staff_id: int, *, supervisor: bool = False) -> None:
    if row.status != "agent":
        raise Conflict("handoff_not_open", "这个会话现在不在人工接待中", detail={"status": row.status})
    if row.agent_id != staff_id and not supervisor:
        raise Forbidden("not_your_conversation", "这个会话不是您在接待", detail={"handoff_id": row.id})


# --- taking a chat ----------------------------------------------------------------------------------


def take(
    session: Session,
    *,
    handoff_id: int,
    staff_id: int,
    now: dt.datetime,
    redis: redis.Redis | None = None,
    auto: bool = False,
) -> HandoffRequest:
    """The agent takes a queued chat or work item: one conditional UPDATE, so of two agents racing one
    wins and the other gets ``already_taken`` (A-06). A work item does not silence the bot (no mirror)."""
    result = session.execute(
        update(HandoffRequest)
        .where(HandoffRequest.id == handoff_id, HandoffRequest.status == "queued")
        .values(
            status="agent", agent_id=staff_id, assigned_at=now, updated_at=now, unread=HandoffRequest.unread
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        row = get(session, handoff_id)
        item = row.reason in WORK_ITEM_REASONS
        raise Conflict(
            "already_taken",
            "这条待办已经被别的同事接了" if item else "这个会话已经被别的同事接了",
            detail={"handoff_id": handoff_id, "status": row.status},
        )
    row = get(session, handoff_id)
    session.refresh(row)
    _audit(session, staff_id, "handoff.assign" if auto else "handoff.take", row, now)
    if row.reason in WORK_ITEM_REASONS:
        emit(session, redis, "work_item.taken", {"handoff_id": row.id, "agent_id": staff_id})
        return row
    _mirror(session, redis, row, True)
    emit(session, redis, "handoff.assigned", {"handoff_id": row.id, "agent_id": staff_id, "auto": auto})
    return row


def _last_agent(session: Session, row: HandoffRequest) -> int | None:
    return session.scalar(
        select(HandoffRequest.agent_id)
        .where(
            HandoffRequest.channel == row.channel,
            HandoffRequest.user_id == row.user_id,
            HandoffRequest.id != row.id,
            HandoffRequest.agent_id.is_not(None),
        )
        .order_by(HandoffRequest.id.desc())
        .limit(1)
    )


def _pick(candidates: list[AgentLoad], sticky: int | None) -> AgentLoad | None:
    with_room = [a for a in candidates if a.state == "online" and a.room > 0]
    if not with_room:
        return None
    for agent in with_room:
        if agent.staff_id == sticky:
            return agent
    return min(with_room, key=lambda a: (a.load / a.capacity, a.load, a.staff_id))


def assign_waiting(session: Session, redis: redis.Redis, now: dt.datetime) -> list[tuple[int, int]]:
    """Give queued chats, most urgent and oldest first, to the least-loaded online agent of the group
    with room (to the agent who last served the customer when that one is online with room; an
    escalated chat to anyone online with room). Returns ``(handoff_id, staff_id)`` pairs."""
    agents = {a.staff_id: a for a in online_agents(session, redis)}
    done: list[tuple[int, int]] = []
    for row in waiting(session):
        group = [a for a in agents.values() if row.escalated or row.skill_group in a.groups]
        chosen = _pick(group, _last_agent(session, row))
        if chosen is None:
            continue
        try:
            take(session, handoff_id=row.id, staff_id=chosen.staff_id, now=now, redis=redis, auto=True)
        except Conflict:  # an agent took it by hand meanwhile
            continue
        agents[chosen.staff_id] = AgentLoad(
            chosen.staff_id, chosen.state, chosen.load + 1, chosen.capacity, chosen.groups
        )
        done.append((row.id, chosen.staff_id))
    return done


# --- replies and notes ------------------------------------------------------------------------------


def reply(
    session: Session,
    *,
    handoff_id: int,
    staff_id: int,
    text: str,
    now: dt.datetime,
    cipher: FieldCipher,
    redis: redis.Redis | None = None,
    supervisor: bool = False,
) -> HandoffMessage:
    """The agent answers: the message is stored and queued for delivery; the first reply stops the
    first-response timers, any reply stops the next-response clock."""
    row = owned(session, handoff_id, staff_id, supervisor=supervisor)
    msg = add_message(
        session,
        row=row,
        direction="agent",
        text=clean_text(text),
        cipher=cipher,
        now=now,
        staff_id=staff_id,
        deliver=True,
    )
    answered(session, row=row, msg=msg, staff_id=staff_id, now=now, redis=redis)
    return msg


def owned(session: Session, handoff_id: int, staff_id: int, *, supervisor: bool = False) -> HandoffRequest:
    """The conversation, when this staff member may answer in it (its agent, or a supervisor)."""
    row = get(session, handoff_id)
    _own(row, staff_id, supervisor=supervisor)
    return row


def answered(session: Session, *, row: HandoffRequest, msg: HandoffMessage, staff_id: int, now: dt.datetime,
             redis: redis.Redis | None = None, action: str = "handoff.reply") -> None:
    """What any agent answer (text or picture) does: wakes the delivery worker, stops the
    first-response timers (first answer) and the next-response clock, audits and publishes it."""
    wake_worker(session, redis)
    if row.first_response_at is None:
        row.first_response_at = now
        disarm_first_response(session, row.id, now)
    if row.waiting_since is not None:
        row.waiting_since = None
        jobs.cancel_waiting(session, kind=SLA_KIND, key_prefix=f"{row.id}:next:", now=now)
    row.unread = 0
    row.updated_at = now
    session.flush()
    _audit(session, staff_id, action, row, now)
    emit(
        session,
        redis,
        "handoff.message",
        {"handoff_id": row.id, "message_id": msg.id, "direction": "agent", "staff_id": staff_id},
    )


def note(
    session: Session,
    *,
    handoff_id: int,
    staff_id: int,
    text: str,
    now: dt.datetime,
    cipher: FieldCipher,
    redis: redis.Redis | None = None,
) -> HandoffMessage:
    """A private note in the conversation (never sent to the customer)."""
    row = get(session, handoff_id)
    msg = add_message(
        session, row=row, direction="note", text=clean_text(text), cipher=cipher, now=now, staff_id=staff_id
    )
    _audit(session, staff_id, "handoff.note", row, now)
    emit(session, redis, "handoff.note", {"handoff_id": row.id, "message_id": msg.id, "staff_id": staff_id})
    return msg


def transfer(
    session: Session,
    *,
    handoff_id: int,
    staff_id: int,
    note: str,
    now: dt.datetime,
    cipher: FieldCipher,
    to_agent_id: int | None = None,
    to_group: str | None = None,
    redis: redis.Redis | None = None,
    supervisor: bool = False,
) -> HandoffRequest:
    """Hand the chat to another agent or back to a group's queue, with a required note the receiver
    sees; the SLA clock keeps running (``queued_at`` is kept)."""
    if (to_agent_id is None) == (to_group is None):
        raise ServiceError("bad_transfer", "请选择转给一位同事或一个组")
    if not note.strip():
        raise ServiceError("transfer_note_required", "转接要写一句说明")
    row = get(session, handoff_id)
    if row.reason in WORK_ITEM_REASONS:  # not a chat: it would move the bot's agent-owned mirror
        raise Conflict("work_item_no_transfer", "待办不能转接，办完时写明情况即可",
                       detail={"handoff_id": row.id})
    if row.status == "queued" and supervisor:
        pass  # a supervisor may route a waiting chat
    else:
        _own(row, staff_id, supervisor=supervisor)
    add_message(
        session, row=row, direction="note", text=clean_text(note), cipher=cipher, now=now, staff_id=staff_id
    )
    if to_agent_id is not None:
        row.status, row.agent_id, row.assigned_at = "agent", to_agent_id, now
        _mirror(session, redis, row, True)
    else:
        if to_group not in GROUPS:
            raise ServiceError("bad_group", "没有这个组", detail={"group": to_group})
        row.status, row.agent_id, row.skill_group = "queued", None, str(to_group)
        _mirror(session, redis, row, False)
    row.updated_at = now
    session.flush()
    _audit(session, staff_id, "handoff.transfer", row, now)
    emit(
        session,
        redis,
        "handoff.transferred",
        {"handoff_id": row.id, "from": staff_id, "to_agent_id": to_agent_id, "to_group": to_group},
    )
    return row


def close(
    session: Session,
    *,
    handoff_id: int,
    staff_id: int,
    disposition: str,
    summary: str,
    now: dt.datetime,
    cipher: FieldCipher,
    redis: redis.Redis | None = None,
    supervisor: bool = False,
) -> HandoffRequest:
    """Close the chat with a disposition and a short summary (encrypted); the customer is asked for a
    1–5 rating and the conversation is the bot's again. A work item is finished the same way (its
    outcome the disposition, the note the summary), with no rating asked."""
    row = get(session, handoff_id)
    allowed = DISPOSITIONS + tuple(OUTCOMES) if row.reason in WORK_ITEM_REASONS else DISPOSITIONS
    if disposition not in allowed:
        raise ServiceError("bad_disposition", "请选择处理结果", detail={"allowed": list(allowed)})
    _own(row, staff_id, supervisor=supervisor)
    text = scrub_text(summary.strip()[:MAX_TEXT])
    row.status, row.closed_at, row.disposition = "closed", now, disposition
    row.close_summary_enc = cipher.encrypt(text, purpose=PURPOSE_CLOSE_SUMMARY) if text else None
    row.waiting_since = None
    row.updated_at = now
    for stage in ("warn", "breach"):
        jobs.cancel(session, kind=SLA_KIND, key=f"{row.id}:{stage}", now=now)
    jobs.cancel_waiting(session, kind=SLA_KIND, key_prefix=f"{row.id}:next:", now=now)
    if row.reason in WORK_ITEM_REASONS:
        session.flush()
        _audit(session, staff_id, "handoff.work_item_finish", row, now)
        emit(session, redis, "work_item.finished",
             {"handoff_id": row.id, "agent_id": row.agent_id, "disposition": disposition})
        return row
    add_message(
        session,
        row=row,
        direction="system",
        text=copy.text("handoff_rate_question"),
        cipher=cipher,
        now=now,
        deliver=True,
    )
    wake_worker(session, redis)
    session.flush()
    _audit(session, staff_id, "handoff.close", row, now)
    _mirror(session, redis, row, False)
    emit(
        session,
        redis,
        "handoff.closed",
        {"handoff_id": row.id, "agent_id": row.agent_id, "disposition": disposition},
    )
    return row


def read_close_summary(row: HandoffRequest, *, cipher: FieldCipher) -> str:
    return (
        cipher.decrypt(row.close_summary_enc, purpose=PURPOSE_CLOSE_SUMMARY) if row.close_summary_enc else ""
    )


def can_read(session: Session, staff: object, row: HandoffRequest) -> bool:
    """Supervisors and admins read every chat; an agent only chats assigned to them, or queued for
    one of their groups (escalated ones for every group) (A-02)."""
    from backend.handoff.agents import profile

    role = getattr(staff, "role", None)
    staff_id = int(staff.id)  # type: ignore[attr-defined]
    if role in SUPERVISOR_ROLES:
        return True
    if role != Role.AGENT:
        return False
    if row.agent_id == staff_id and row.status in ("agent", "closed"):
        return True
    if row.status == "queued" and row.reason != "follow_up":  # a low rating's follow-up: supervisors
        return row.escalated or row.skill_group in (profile(session, staff_id).groups or [])
    return False
