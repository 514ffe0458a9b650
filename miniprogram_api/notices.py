"""The notices we sent about a claim, as the claim detail shows them: over which channel, when, in
which words, about which stage, and whether they arrived (``backend.notices``: the same rows and words
as the staff console's view)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from backend.claims.states import label
from backend.notices.service import NoticeView

Delivery = Literal["sending", "sent", "delivered", "not_delivered", "failed"]

CHANNEL_LABELS = {
    "wechat_template": "公众号消息",
    "miniprogram_subscribe": "小程序消息",
    "sms": "短信",
}
DELIVERY_LABELS: dict[str, str] = {
    "sending": "正在发送",
    "sent": "已发出",
    "delivered": "已送达",
    "not_delivered": "没有送达",
    "failed": "没能发出，工作人员会联系您",
}
DELIVERED = ("success", "DELIVERED")


class NoticeSentOut(BaseModel):
    """One notice about the claim (newest first in the list)."""

    id: int = Field(examples=[57])
    channel: str | None = Field(
        default=None,
        examples=["sms"],
        description="wechat_template 公众号消息；miniprogram_subscribe 小程序消息；sms 短信；还没发时为空",
    )
    channel_label: str | None = Field(default=None, examples=["短信"])
    created_at: dt.datetime = Field(description="通知产生的时间")
    sent_at: dt.datetime | None = Field(default=None, description="发出的时间；还没发出时为空")
    text: str = Field(examples=["您的理赔案件进度：审核中。预计12月3日前有结果。"], description="通知的原话")
    stage: str | None = Field(default=None, examples=["under_review"], description="通知说的案件进度")
    stage_label: str | None = Field(default=None, examples=["审核中"])
    delivery: Delivery = Field(
        examples=["delivered"],
        description="sending 正在发送；sent 已发出；delivered 已送达；not_delivered 没送达；failed 没能发出",
    )
    delivery_label: str = Field(examples=["已送达"])


def delivery_of(view: NoticeView) -> Delivery:
    """Where a notice is, in one word: the receipt when one came, else the send's own state."""
    if view.state == "failed":
        return "failed"
    if view.state != "sent":
        return "sending"
    if view.receipt_status is None:
        return "sent"
    return "delivered" if view.receipt_status in DELIVERED else "not_delivered"


def _stage_label(stage: str | None) -> str | None:
    try:
        return label(stage) if stage else None
    except (KeyError, ValueError):  # a stage name this version does not know
        return None


def notice_view(view: NoticeView) -> NoticeSentOut:
    delivery = delivery_of(view)
    return NoticeSentOut(
        id=view.id,
        channel=view.channel,
        channel_label=CHANNEL_LABELS.get(view.channel or ""),
        created_at=view.created_at,
        sent_at=view.sent_at,
        text=view.text,
        stage=view.stage,
        stage_label=_stage_label(view.stage),
        delivery=delivery,
        delivery_label=DELIVERY_LABELS[delivery],
    )
