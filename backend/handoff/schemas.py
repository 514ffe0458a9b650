"""Shapes of the console API (``/api/console``): never a clear ID or phone number; customers appear
as masked labels, chat texts only in a conversation's own view (whose read is audited)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

Sla = Literal["ok", "warn", "breach"]
State = Literal["online", "busy", "away"]


# --- login -------------------------------------------------------------------------------------------

class ConsoleLoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp: str = Field(min_length=1, max_length=12, description="动态码（6位）")


class ConsoleStaffOut(BaseModel):
    id: int
    username: str
    role: str


class ConsoleLoginOut(BaseModel):
    csrf_token: str = Field(description="每个非 GET 请求放在 X-CSRF-Token 头里")
    staff: ConsoleStaffOut
    expires_at: dt.datetime
    idle_timeout_s: int


class ConsoleMeOut(BaseModel):
    staff: ConsoleStaffOut


class OkOut(BaseModel):
    ok: bool = True


# --- lists -------------------------------------------------------------------------------------------

class QueueItemOut(BaseModel):
    id: int
    reason: str
    priority: int
    skill_group: str
    queued_at: dt.datetime | None
    wait_s: int
    sla: Sla
    snippet: str
    customer: str = Field(description="打码的客户标识")
    escalated: bool
    agent_id: int | None = None


class QueueOut(BaseModel):
    items: list[QueueItemOut]


class MineItemOut(QueueItemOut):
    unread: int
    status: str


class MineOut(BaseModel):
    items: list[MineItemOut]


# --- work items (待办) ----------------------------------------------------------------------------------

class WorkItemOut(BaseModel):
    id: int
    reason: str = Field(description="callback | follow_up | info_update")
    kind: str = Field(description="回电 / 差评跟进 / 资料变更")
    status: str = Field(description="queued（待接）| agent（已接）")
    skill_group: str
    left_at: dt.datetime = Field(description="客户留下的时间")
    due_at: dt.datetime = Field(description="从这时起出现在待办里")
    wait_s: int = Field(description="到期以来等了多久（秒）")
    customer: str = Field(description="打码的客户标识")
    said: str = Field(description="客户说的话（号码打码）")
    agent_id: int | None = Field(default=None, description="谁接了")
    taken_by: str | None = None
    about_agent: str | None = Field(default=None, description="差评跟进：被评的客服")
    supervisor_only: bool = False


class WorkItemsOut(BaseModel):
    items: list[WorkItemOut]
    outcomes: list[DispositionOut]


class FinishIn(BaseModel):
    outcome: Literal["called_back", "unreachable", "resolved"]
    note: str = Field(min_length=1, max_length=500)


# --- one conversation --------------------------------------------------------------------------------

class HandoffOut(BaseModel):
    id: int
    channel: str
    status: str
    reason: str
    priority: int
    skill_group: str
    agent_id: int | None
    queued_at: dt.datetime | None
    assigned_at: dt.datetime | None
    first_response_at: dt.datetime | None
    closed_at: dt.datetime | None
    disposition: str | None
    escalated: bool
    sla: Sla
    wait_s: int


class MessageOut(BaseModel):
    id: str
    direction: str = Field(description="customer | agent | note | system | bot")
    text: str
    at: dt.datetime
    intent: str | None = None
    confidence: float | None = None
    staff: int | None = None
    delivery: str | None = None
    delivery_error: str | None = None
    kind: str = Field(default="text", description="text | image")
    image_url: str | None = Field(default=None, description="图片（坐席登录后可看，每次查看都记审计）")


class CustomerOut(BaseModel):
    label: str
    name: str | None = Field(default=None, description="打码")
    phone: str | None = Field(default=None, description="打码")
    age: int | None = None


class CaseOut(BaseModel):
    id: int
    status: str
    title: str
    created_at: dt.datetime | None = None
    moves: list[str] = Field(default_factory=list,
                             description="理赔：这位员工的岗位现在可以改成的状态（投诉为空）")


class ConversationOut(BaseModel):
    handoff: HandoffOut
    messages: list[MessageOut]
    customer: CustomerOut
    claims: list[CaseOut]
    complaints: list[CaseOut]


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class TransferIn(BaseModel):
    to_agent_id: int | None = Field(default=None, ge=1)
    to_group: Literal["claims", "complaints", "general"] | None = None
    note: str = Field(min_length=1, max_length=500)


class CloseIn(BaseModel):
    disposition: str = Field(min_length=1, max_length=32)
    summary: str = Field(min_length=1, max_length=2000)


class MessageSentOut(BaseModel):
    id: int
    delivery: str
    image_url: str | None = None


# --- agents ------------------------------------------------------------------------------------------

class PresenceIn(BaseModel):
    state: State


class AgentOut(BaseModel):
    staff_id: int
    username: str | None = None
    state: str
    load: int
    capacity: int


class AgentsOut(BaseModel):
    items: list[AgentOut]


class CapacityIn(BaseModel):
    capacity: int = Field(ge=1, le=20)


# --- config ------------------------------------------------------------------------------------------

class CannedOut(BaseModel):
    key: str
    title: str
    text: str


class DispositionOut(BaseModel):
    key: str
    title: str


class CannedListOut(BaseModel):
    items: list[CannedOut]
    dispositions: list[DispositionOut]


# --- dashboard ---------------------------------------------------------------------------------------

class BucketOut(BaseModel):
    start: dt.datetime
    handoffs: int
    answered: int
    within_3min: int
    within_3min_share: float | None  # of the bucket's conversations whose outcome is known
    breaches: int
    frt_p50_s: float | None
    frt_p90_s: float | None


class AtRiskOut(BaseModel):
    id: int
    wait_s: int
    sla: Sla
    skill_group: str
    priority: int
    agent_id: int | None
    status: str


class CountOut(BaseModel):
    key: str
    count: int


class DashboardOut(BaseModel):
    now: dt.datetime
    queue_length: int
    oldest_wait_s: int
    agents: list[AgentOut]
    handoffs_today: int
    first_response_p50_s: float | None
    first_response_p90_s: float | None
    within_3min_share: float | None
    breaches_today: int
    next_response_p50_s: float | None
    satisfaction_avg: float | None
    satisfaction_count: int
    reasons: list[CountOut]
    top_intents: list[CountOut]
    buckets: list[BucketOut]
    at_risk: list[AtRiskOut]
    timezone: str  # the service's (IANA name): the page shows bucket times in it, not the browser's
