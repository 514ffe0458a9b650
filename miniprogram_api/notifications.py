"""Notifications: report what the customer chose in ``wx.requestSubscribeMessage`` (the same ledger as
the official account's subscribe events: one acceptance = one send), and the channel choices."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from backend.deps import DbSession
from backend.idempotency import service as idem
from backend.notifications import subscriptions as subs
from miniprogram_api.deps import CurrentCustomer, IdempotencyKey, Now
from miniprogram_api.schemas import In, Items

router = APIRouter(tags=["通知"])


class SubscribeResult(In):
    template_id: str = Field(min_length=1, max_length=128, examples=["Vx9kQ_claim_progress"])
    status: Literal["accept", "reject", "ban", "filter"] = Field(
        examples=["accept"], description="wx.requestSubscribeMessage 的结果"
    )


class SubscribeIn(In):
    results: list[SubscribeResult] = Field(min_length=1, max_length=3)
    always: bool = Field(default=False, description="用户勾选了“总是保持以上选择”")


class Balance(BaseModel):
    template_id: str
    available: int = Field(examples=[2], description="还能发几次")
    status: str | None = Field(default=None, examples=["accept"])
    always: bool


class PreferencesIn(In):
    wechat: bool | None = Field(default=None, description="接收微信通知")
    sms: bool | None = Field(default=None, description="接收短信通知")


class PreferencesOut(BaseModel):
    wechat: bool
    sms: bool


def balances_view(rows: list[subs.TemplateBalance]) -> Items[Balance]:
    return Items[Balance](
        items=[
            Balance(template_id=b.template_id, available=b.available, status=b.status, always=b.always)
            for b in rows
        ]
    )


@router.post("/notifications/subscriptions", response_model=Items[Balance], summary="报告订阅消息的选择")
def report(
    body: SubscribeIn,
    key: IdempotencyKey,
    customer: CurrentCustomer,
    db: DbSession,
    now: Now,
    response: Response,
) -> Items[Balance]:
    """Call after every ``wx.requestSubscribeMessage``: each ``accept`` allows one notice. Send the same
    ``Idempotency-Key`` when retrying: the choices are counted once."""
    acc = customer.account
    owner = f"customer:{customer.id}"
    operation = "notifications.subscribe"
    existing = idem.begin(
        db,
        owner=owner,
        key=key,
        operation=operation,
        fp=idem.fingerprint(operation, body.model_dump(mode="json")),
        now=now,
    )
    names = [r.template_id for r in body.results]
    if existing is not None:
        response.headers["Idempotent-Replayed"] = "true"
        return balances_view(subs.balances(db, channel=acc.channel, openid=acc.openid, template_ids=names))
    rows = subs.record_choices(
        db,
        channel=acc.channel,
        openid=acc.openid,
        source="miniprogram",
        now=now,
        choices=[
            subs.Choice(template_id=r.template_id, status=r.status, always=body.always) for r in body.results
        ],
    )
    idem.finish(db, owner=owner, key=key, resource_id=acc.id)
    return balances_view(rows)


@router.get("/notifications/subscriptions", response_model=Items[Balance], summary="订阅消息还能发几次")
def balances(customer: CurrentCustomer, db: DbSession) -> Items[Balance]:
    """Per template: sends left and the latest choice (use it to decide whether to ask again)."""
    return balances_view(subs.balances(db, channel=customer.account.channel, openid=customer.account.openid))


@router.get("/notifications/preferences", response_model=PreferencesOut, summary="通知方式")
def preferences(customer: CurrentCustomer, db: DbSession) -> PreferencesOut:
    """How you want to hear from us."""
    row = subs.preferences(db, channel=customer.account.channel, openid=customer.account.openid)
    return PreferencesOut(wechat=row.wechat, sms=row.sms)


@router.put("/notifications/preferences", response_model=PreferencesOut, summary="修改通知方式")
def set_preferences(
    body: PreferencesIn, customer: CurrentCustomer, db: DbSession, now: Now
) -> PreferencesOut:
    """Change one or both; a field left out stays as it is."""
    row = subs.set_preferences(
        db,
        channel=customer.account.channel,
        openid=customer.account.openid,
        wechat=body.wechat,
        sms=body.sms,
        now=now,
    )
    return PreferencesOut(wechat=row.wechat, sms=row.sms)
