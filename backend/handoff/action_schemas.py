"""Shapes of the chat view's case actions (``/api/console/conversations/{id}/...``): creating a complaint
or a claim report from the chat, moving a claim, confirming to the customer. Answers carry numbers,
states and deadlines, never a clear ID number; the forms' prefill (the customer's own words and phone
from the chat the agent is reading) is audited as a read of the transcript."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from backend.db import MAX_BIGINT, MAX_INTEGER


class OptionOut(BaseModel):
    key: str
    label: str


class MoveOut(BaseModel):
    to: str
    label: str
    needs_reason: bool = Field(description="进入这个状态要写原因")
    needs_amount: bool = Field(description="同意赔付：要填核定金额（超过额度要第二人复核）")


class PendingApprovalOut(BaseModel):
    id: int
    amount_fen: int = Field(description="提交的核定金额（分）")
    computed_fen: int = Field(description="按条款算出的金额（分）")
    ceiling_fen: int = Field(description="这个产品这类理赔的最高赔付（分）")
    proposed_by: str = Field(description="提交金额的同事")
    proposed_at: dt.datetime
    stale: bool = Field(description="案件在提交金额之后改过了：要重新提交金额，不能复核")
    may_decide: bool = Field(description="这位员工可以复核（理赔专员或主管，且不是提交人，金额没有过期）")


class PrivateFieldOut(BaseModel):
    """A private value of a claim or complaint, masked; ``POST /api/console/reveal`` shows it in clear
    (with a reason, audited) to the roles that may reveal."""

    field: str = Field(description="查看时用的字段名（reveal 的 field）")
    label: str
    masked: str


class ClaimCaseOut(BaseModel):
    id: int
    case_no: str
    claim_type: str
    state: str
    state_label: str
    version: int
    deadline_date: dt.date | None
    moves: list[MoveOut] = Field(description="这位员工的岗位现在可以把案件改成的状态")
    approved_amount_fen: int | None = Field(default=None, description="已核定的赔付金额（分）")
    pending_approval: PendingApprovalOut | None = Field(
        default=None, description="金额超过额度，等待另一位同事复核")
    private: list[PrivateFieldOut] = Field(default_factory=list, description="打码的身份证号、电话、银行卡号")


class ComplaintCaseOut(BaseModel):
    id: int
    complaint_no: str
    category: str
    category_label: str
    state: str
    state_label: str
    ack_due_at: dt.datetime = Field(description="受理后多久内联系客户（24小时）")
    resolution_due_date: dt.date = Field(description="答复期限（15个工作日）")
    resolution_due_provisional: bool
    private: list[PrivateFieldOut] = Field(default_factory=list, description="打码的回电电话")


class PrefillOut(BaseModel):
    content: str = Field(description="客户在聊天里说的话（号码打码）")
    contact_phone_masked: str | None = Field(
        description="客户在聊天里留的电话（打码）；提交时选“用聊天里的电话”")
    category: str
    severity: str = Field(description="客户生气转人工时为“严重”（和机器人一样）")


class CaseActionsOut(BaseModel):
    can_act: bool = Field(description="正在接待这个会话的客服或主管才能办理")
    can_reveal: bool = Field(default=False,
                             description="这位员工的岗位可以写明原因查看打码的信息（坐席不能）")
    claims: list[ClaimCaseOut]
    complaints: list[ComplaintCaseOut]
    complaint_categories: list[OptionOut]
    claim_types: list[OptionOut]
    accident_types: list[OptionOut]
    relations: list[OptionOut]
    prefill: PrefillOut
    default_disposition: str | None = Field(description="建了案件后结束会话默认选“已建投诉/已建理赔”")


class ComplaintIn(BaseModel):
    category: str = Field(max_length=32)
    content: str = Field(max_length=4000)
    contact_phone: str | None = Field(default=None, max_length=32)
    use_chat_phone: bool = Field(default=False, description="不填电话时，用客户在聊天里留的电话")
    severity: Literal["normal", "serious", "urgent"] = "normal"
    complainant_name: str | None = Field(default=None, max_length=100)
    related_case_no: str | None = Field(default=None, max_length=16)


class ClaimIn(BaseModel):
    claim_type: str = Field(max_length=64)
    insured_name: str = Field(max_length=100)
    insured_id_number: str | None = Field(default=None, max_length=32)
    consent_confirmed: bool = Field(default=False, description="客户已在聊天中同意使用身份证号")
    reporter_phone: str | None = Field(default=None, max_length=32)
    use_chat_phone: bool = Field(default=False, description="不填电话时，用客户在聊天里留的电话")
    reporter_relation: str = Field(max_length=32)
    accident_date: dt.date
    accident_type: str = Field(max_length=64)
    description: str = Field(max_length=2000)
    place: str | None = Field(default=None, max_length=200)
    hospital: str | None = Field(default=None, max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=64, description="同一次提交重试用同一个")


class FactsIn(BaseModel):
    admission: dt.date | None = None
    discharge: dt.date | None = None
    grade: int | None = Field(default=None, ge=1, le=10)
    transport: str | None = Field(default=None, max_length=32)
    operating: bool = True


class ClaimMoveIn(BaseModel):
    to_state: str = Field(max_length=32)
    reason: str | None = Field(default=None, max_length=1000)
    expected_version: int | None = Field(default=None, ge=1, le=MAX_INTEGER)
    approved_amount_fen: int | None = Field(default=None, ge=1, le=MAX_BIGINT)
    benefit_facts: FactsIn | None = None


class ConfirmIn(BaseModel):
    kind: Literal["complaint", "claim"]
    case_id: int = Field(ge=1, le=MAX_INTEGER)


class ComplaintCreatedOut(BaseModel):
    complaint: ComplaintCaseOut
    confirmation: str = Field(description="可一键发给客户的确认消息")


class ClaimCreatedOut(BaseModel):
    claim: ClaimCaseOut
    confirmation: str


class ClaimMovedOut(BaseModel):
    claim: ClaimCaseOut
    outcome: Literal["done", "pending"] = Field(description="pending：金额超过额度，等第二位同事复核")


class ApprovalConfirmIn(BaseModel):
    approved_amount_fen: int = Field(ge=1, le=MAX_BIGINT, description="复核人再输入一次金额")
    expected_version: int | None = Field(default=None, ge=1, le=MAX_INTEGER)


class ApprovalDeclineIn(BaseModel):
    reason: str | None = Field(default=None, max_length=1000, description="退回的原因（必填）")


class ApprovalDecidedOut(BaseModel):
    claim: ClaimCaseOut
    outcome: Literal["done", "declined"] = Field(description="done：复核通过，已核定；declined：已退回")
