"""The console's routes for taking over a live bot conversation (``/api/console/bot-chats``): the list of
customers talking with the bot now, one such conversation's transcript (audited read), and 接管.
Supervisors and admins only: an agent reads only conversations routed to them (A-02), and browsing
every customer's bot chat is not that. Included in ``backend.handoff.api.router``; the logic is
``backend.handoff.takeover``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from backend.audit.service import record_event
from backend.deps import Now, RedisDep, RowId, RuntimeDep, WriteDbSession
from backend.errors import Forbidden
from backend.handoff.console_auth import SUPERVISORS, console_staff
from backend.handoff.console_views import bot_turns, customer_label_for, known_name
from backend.handoff.schemas import CustomerOut, MessageOut
from backend.handoff.takeover import BotChat, bot_chats, chat_of, take_over
from backend.staff.deps import StaffPrincipal

router = APIRouter()


def _supervisor(staff: Annotated[StaffPrincipal, Depends(console_staff)]) -> StaffPrincipal:
    if staff.role not in SUPERVISORS:
        raise Forbidden("forbidden", "只有主管可以做这件事", detail={"allowed_roles": sorted(SUPERVISORS)})
    return staff


Supervisor = Annotated[StaffPrincipal, Depends(_supervisor)]


class RecentTurnOut(BaseModel):
    at: dt.datetime
    intent: str | None
    confidence: float | None


class BotChatOut(BaseModel):
    id: int = Field(description="客户最近一句的编号（查看、接管用）")
    channel: str
    customer: str = Field(description="不含身份信息的客户标签")
    name: str | None = Field(default=None, description="打码的姓名（已知时）")
    last_at: dt.datetime
    idle_s: int
    turns: int = Field(description="近30分钟客户说了几句")
    misses: int = Field(description="机器人连续没听懂几次")
    recent: list[RecentTurnOut]


class BotChatsOut(BaseModel):
    items: list[BotChatOut]


class BotChatViewOut(BaseModel):
    chat: BotChatOut | None = Field(description="仍在和机器人聊时的概况；已转人工或已离开时为空")
    messages: list[MessageOut]
    customer: CustomerOut


class TakeoverOut(BaseModel):
    handoff_id: int
    status: str
    reason: str
    skill_group: str
    agent_id: int | None


def _out(db: WriteDbSession, chat: BotChat, now: dt.datetime) -> BotChatOut:
    recent = [RecentTurnOut(at=t.at, intent=t.intent, confidence=t.confidence) for t in chat.recent]
    return BotChatOut(id=chat.turn_id, channel=chat.channel,
                      customer=customer_label_for(chat.channel, chat.user_id),
                      name=known_name(db, chat.user_id), last_at=chat.last_at,
                      idle_s=max(0, int((now - chat.last_at).total_seconds())), turns=chat.turns,
                      misses=chat.misses, recent=recent)


@router.get("/bot-chats", response_model=BotChatsOut)
def console_bot_chats(staff: Supervisor, db: WriteDbSession, now: Now) -> BotChatsOut:
    """Customers talking with the bot now (a message in the last 30 minutes, no open handoff), the most
    recently active first, with their last turns' intents and the misunderstandings so far."""
    return BotChatsOut(items=[_out(db, c, now) for c in bot_chats(db, now=now)])


@router.get("/bot-chats/{turn_id}", response_model=BotChatViewOut)
def console_bot_chat(turn_id: RowId, staff: Supervisor, db: WriteDbSession, runtime: RuntimeDep,
                     now: Now) -> BotChatViewOut:
    """The conversation's bot turns (texts as stored: numbers masked), before deciding to take it over.
    The read is audited."""
    turn = chat_of(db, turn_id)
    record_event(db, actor=staff.username, action="read", object_type="conversation_turn", object_id=turn.id,
                 field="transcript", purpose="takeover", ip=staff.ip, at=now)
    live = [c for c in bot_chats(db, now=now) if (c.channel, c.user_id) == (turn.channel, turn.user_id)]
    lines = bot_turns(db, channel=turn.channel, user_id=turn.user_id, until=None, cipher=runtime.cipher)
    return BotChatViewOut(chat=_out(db, live[0], now) if live else None,
                          messages=[MessageOut(**m) for m in lines],
                          customer=CustomerOut(label=customer_label_for(turn.channel, turn.user_id),
                                               name=known_name(db, turn.user_id)))


@router.post("/bot-chats/{turn_id}/take", response_model=TakeoverOut)
def console_bot_chat_take(turn_id: RowId, staff: Supervisor, db: WriteDbSession, redis_client: RedisDep,
                          runtime: RuntimeDep, now: Now) -> TakeoverOut:
    """接管: the conversation is this staff member's at once (the bot goes quiet) and the customer is told
    a person is helping them. 409 ``already_in_handoff`` (its ``handoff_id`` in ``detail``) when the
    customer already has an open handoff, or when someone else took it over first."""
    row = take_over(db, turn_id=turn_id, staff_id=staff.id, now=now, cipher=runtime.cipher,
                    redis=redis_client)
    return TakeoverOut(handoff_id=row.id, status=row.status, reason=row.reason, skill_group=row.skill_group,
                       agent_id=row.agent_id)
