"""Taking over a live bot conversation (the last trigger of a handoff in the product spec): the customers
talking with the bot now, and a person taking one of them over.

A conversation is live with the bot when the customer's last message (a turn that is not an event) is at
most ``LIVE_WINDOW`` old and they have no open conversation handoff (a work item such as a call-back
does not count: the bot keeps talking then). It is named by one of its turn ids, never by the openid.

Taking over creates the handoff row already with the taker (reason ``takeover``, status ``agent``, skill
group from the last turn as the queue would give it), so the Redis mirror makes the bot quiet at once,
and queues one short line to the customer through the same delivery as agents' replies (the
customer-service API, counted against WeChat's allowance per customer message). SLA: nobody was
waiting, so there are no first-response timers; ``first_response_at`` is the take-over (the line goes
out then) and the dashboard leaves these chats out of its first-response figures; the next-response
clock starts, as in every agent chat, at the customer's next message. Two people racing: one wins, the
other gets 409 ``already_in_handoff`` (PostgreSQL: a transaction-scoped advisory lock per customer;
SQLite: the write transaction is already exclusive).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import redis
from sqlalchemy import ColumnElement, Exists, func, select, text
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.conversations.turn_models import ConversationTurn
from backend.errors import Conflict, NotFound
from backend.handoff import copy
from backend.handoff.effects import after_commit, emit, wake_worker
from backend.handoff.messages import add_message
from backend.handoff.models import OPEN_STATUSES, WORK_ITEM_REASONS, HandoffRequest
from backend.handoff.queue import priority_of, skill_group_of
from backend.handoff.service import conversation_digest, open_handoff, set_agent_owned
from backend.security.crypto import FieldCipher

LIVE_WINDOW = dt.timedelta(minutes=30)
RECENT_TURNS = 3  # the last turns' intents shown in the list
LIVE_LIMIT = 50
REASON = "takeover"
# The turn-log slot where the dialogue engine notes the misunderstandings so far (bot/dialogue/engine.py).
MISSES_SLOT = "bot_misses"


@dataclass(frozen=True)
class RecentTurn:
    at: dt.datetime
    intent: str | None
    confidence: float | None


@dataclass(frozen=True)
class BotChat:
    """One customer talking with the bot now (``turn_id``: their latest turn, the chat's handle)."""

    turn_id: int
    channel: str
    user_id: str
    last_at: dt.datetime
    turns: int  # customer turns within the window
    misses: int
    flow: str | None
    recent: tuple[RecentTurn, ...]


def _customer_turn() -> ColumnElement[bool]:
    return ConversationTurn.kind.not_like("event%")


def _open_conversation() -> Exists:
    return (select(HandoffRequest.id)
            .where(HandoffRequest.channel == ConversationTurn.channel,
                   HandoffRequest.user_id == ConversationTurn.user_id,
                   HandoffRequest.status.in_(OPEN_STATUSES), HandoffRequest.reason.not_in(WORK_ITEM_REASONS))
            .exists())


def bot_chats(session: Session, *, now: dt.datetime, limit: int = LIVE_LIMIT) -> list[BotChat]:
    """Customers whose last message is within ``LIVE_WINDOW`` and who have no open handoff, the most
    recently active first."""
    latest = (select(func.max(ConversationTurn.id).label("last_id"), func.count().label("n"))
              .where(ConversationTurn.at >= now - LIVE_WINDOW, ConversationTurn.at <= now,
                     _customer_turn(), ~_open_conversation())
              .group_by(ConversationTurn.channel, ConversationTurn.user_id)
              .subquery())
    rows = session.execute(select(ConversationTurn, latest.c.n)
                           .join(latest, ConversationTurn.id == latest.c.last_id)
                           .order_by(ConversationTurn.at.desc(), ConversationTurn.id.desc())
                           .limit(limit)).all()
    return [_chat(session, turn, int(n), now) for turn, n in rows]


def _chat(session: Session, turn: ConversationTurn, n: int, now: dt.datetime) -> BotChat:
    recent = session.execute(
        select(ConversationTurn.at, ConversationTurn.intent, ConversationTurn.confidence)
        .where(ConversationTurn.channel == turn.channel, ConversationTurn.user_id == turn.user_id,
               ConversationTurn.at >= now - LIVE_WINDOW, _customer_turn())
        .order_by(ConversationTurn.at.desc(), ConversationTurn.id.desc()).limit(RECENT_TURNS)).all()
    misses = (turn.slots or {}).get(MISSES_SLOT, 0)
    return BotChat(turn_id=turn.id, channel=turn.channel, user_id=turn.user_id, last_at=turn.at, turns=n,
                   misses=int(misses) if isinstance(misses, int) else 0, flow=turn.flow,
                   recent=tuple(RecentTurn(at, intent, conf) for at, intent, conf in reversed(recent)))


def chat_of(session: Session, turn_id: int) -> ConversationTurn:
    """The turn naming a bot conversation (404 when there is none)."""
    turn = session.get(ConversationTurn, turn_id)
    if turn is None:
        raise NotFound("not_found", "找不到这段对话", detail={"turn_id": turn_id})
    return turn


def _lock(session: Session, channel: str, user_id: str) -> None:
    """Serialise take-overs of one customer until the transaction ends (PostgreSQL; SQLite's write
    transaction is exclusive already)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int(conversation_digest(channel, user_id)[:15], 16)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def take_over(session: Session, *, turn_id: int, staff_id: int, now: dt.datetime, cipher: FieldCipher,
              redis: redis.Redis | None = None) -> HandoffRequest:
    """A person takes the customer's bot conversation over: a handoff row with them (status ``agent``),
    the bot quiet at once (mirror after commit), one line queued for the customer, audited, published.
    409 ``already_in_handoff`` (with its id) when the customer already has an open handoff; 409
    ``not_chatting`` when they have not written for ``LIVE_WINDOW``."""
    turn = chat_of(session, turn_id)
    channel, user_id = turn.channel, turn.user_id
    _lock(session, channel, user_id)
    existing = open_handoff(session, channel=channel, user_id=user_id)
    if existing is not None:
        raise Conflict("already_in_handoff",
                       f"这位客户已经在人工服务中（会话 #{existing.id}），请到该会话里处理",
                       detail={"handoff_id": existing.id, "status": existing.status,
                               "agent_id": existing.agent_id})
    last = session.scalars(select(ConversationTurn)
                           .where(ConversationTurn.channel == channel, ConversationTurn.user_id == user_id,
                                  _customer_turn())
                           .order_by(ConversationTurn.at.desc(), ConversationTurn.id.desc()).limit(1)).first()
    if last is None or last.at < now - LIVE_WINDOW:
        raise Conflict("not_chatting", "这位客户已经有一阵没说话了，不能接管", detail={"turn_id": turn_id})
    row = HandoffRequest(
        channel=channel, user_id=user_id, reason=REASON, status="agent", flow=last.flow,
        summary_snippet="人工接管", created_at=now, updated_at=now, queued_at=now,
        priority=priority_of(REASON), skill_group=skill_group_of(REASON, flow=last.flow, intent=last.intent),
        agent_id=staff_id, assigned_at=now, first_response_at=now, unread=0,
    )
    session.add(row)
    session.flush()
    msg = add_message(session, row=row, direction="system", text=copy.text("handoff_takeover"), cipher=cipher,
                      now=now, deliver=True)
    wake_worker(session, redis)
    record_event(session, actor=f"staff:{staff_id}", action="handoff.takeover", object_type="handoff",
                 object_id=row.id, at=now)
    if redis is not None:
        client = redis
        after_commit(session, lambda: set_agent_owned(client, channel=channel, user_id=user_id, owned=True))
    emit(session, redis, "handoff.assigned",
         {"handoff_id": row.id, "agent_id": staff_id, "auto": False, "takeover": True})
    emit(session, redis, "handoff.message",
         {"handoff_id": row.id, "message_id": msg.id, "direction": "system", "staff_id": staff_id})
    return row
