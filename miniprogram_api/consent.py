"""The privacy notice and the separate consents (ID number, medical documents, bank account; PIPL
Art. 29): the same consent ledger as the bot's, withdrawable at any time (D-04)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend.deps import DbSession
from backend.privacy import service as privacy
from miniprogram_api.deps import CurrentCustomer, Now
from miniprogram_api.schemas import In

router = APIRouter(tags=["同意"])
Category = Literal["id_number", "medical", "bank_account"]


class ConsentItem(BaseModel):
    category: str = Field(examples=["id_number"])
    label: str = Field(examples=["身份证号码"])
    version: str = Field(examples=["id_number-2026-01"], description="当前文本的版本")
    text: str
    granted: bool = Field(description="现在是否同意（撤回后为 false）")


class PrivacyNotice(BaseModel):
    version: str = Field(examples=["privacy-2026-01"])
    title: str
    text: str
    accepted: bool


class ConsentsOut(BaseModel):
    privacy_notice: PrivacyNotice
    consents: list[ConsentItem]


class NoticeIn(In):
    version: str = Field(
        min_length=1, max_length=64, examples=["privacy-2026-01"], description="用户看到的版本"
    )


class ConsentIn(In):
    granted: bool = Field(description="true 同意；false 撤回", examples=[True])
    version: str = Field(min_length=1, max_length=64, examples=["id_number-2026-01"])


def _view(db: DbSession, customer: CurrentCustomer) -> ConsentsOut:
    cfg = privacy.consent_config()
    acc = customer.account
    notice = PrivacyNotice(
        version=cfg.notice.version,
        title=cfg.notice.label,
        text=cfg.notice.text,
        accepted=privacy.privacy_notice_accepted(db, channel=acc.channel, user_id=acc.openid)
        == cfg.notice.version,
    )
    items = [
        ConsentItem(
            category=c,
            label=t.label,
            version=t.version,
            text=t.text,
            granted=privacy.has_consent(db, category=c, channel=acc.channel, user_id=acc.openid),
        )
        for c, t in cfg.texts.items()
    ]
    return ConsentsOut(privacy_notice=notice, consents=items)


@router.get("/consents", response_model=ConsentsOut, summary="隐私说明和各项同意的现状")
def consents(customer: CurrentCustomer, db: DbSession) -> ConsentsOut:
    """The texts to show, their versions, and what this customer has agreed to."""
    return _view(db, customer)


@router.post("/consents/privacy-notice", response_model=ConsentsOut, summary="同意隐私说明")
def accept_notice(body: NoticeIn, customer: CurrentCustomer, db: DbSession, now: Now) -> ConsentsOut:
    """Record the privacy notice version the customer read (409-free: an old version is refused, 400)."""
    acc = customer.account
    privacy.accept_privacy_notice(
        db,
        channel=acc.channel,
        user_id=acc.openid,
        version=body.version,
        actor=f"customer:{acc.openid}",
        now=now,
    )
    return _view(db, customer)


@router.put("/consents/{category}", response_model=ConsentsOut, summary="同意或撤回一项")
def set_consent(
    category: Category, body: ConsentIn, customer: CurrentCustomer, db: DbSession, now: Now
) -> ConsentsOut:
    """Grant (with the text version shown) or withdraw one category; a withdrawal stops its use at once."""
    acc = customer.account
    current = privacy.consent_config().texts[category].version
    if body.granted and body.version != current:
        from backend.errors import ServiceError

        raise ServiceError(
            "consent_text_outdated",
            "说明已经更新，请重新阅读后再同意",
            detail={"field": "version", "current": current},
        )
    record = privacy.record_consent if body.granted else privacy.withdraw_consent
    record(
        db,
        category=category,
        channel=acc.channel,
        actor=f"customer:{acc.openid}",
        user_id=acc.openid,
        version=body.version if body.granted else current,
        now=now,
    )
    return _view(db, customer)
