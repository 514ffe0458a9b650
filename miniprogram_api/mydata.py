"""My personal information (PIPL Art. 44–50; catalogue D-06): a copy of everything we hold about the
customer, correcting the contact phone of an open claim, and deleting the account.

The copy is what the customer may see in the mini-program, all at once: the account, the consents
given and withdrawn, the insured people bound, the claims with their timelines, files and notices,
the complaints, the home visits, the notification choices and the chat. ID numbers, phones and bank accounts
stay masked in it (they are shown only masked anywhere in the mini-program). Each copy and each
deletion is written to the audit log (A-04).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from backend.accounts import access, subject
from backend.accounts.delegation import delegates_of_insured, delegations_of
from backend.audit.service import record_event
from backend.claims.models import Claim
from backend.complaints.models import Complaint, HomeVisit
from backend.deps import CipherDep, DbSession, RuntimeDep
from backend.notifications import subscriptions as subs
from backend.webchat.service import Cursor
from miniprogram_api.auth import MeOut, me_view
from miniprogram_api.chat import ChatLine, lines_after, parse_cursor
from miniprogram_api.claims import ClaimOut, claim_book, claim_view
from miniprogram_api.complaints import ComplaintOut, VisitOut, complaint_view, visit_view
from miniprogram_api.deps import ClientIp, CurrentCustomer, Now, RowId
from miniprogram_api.identity import Delegate, InsuredPerson, delegate_view, person_view
from miniprogram_api.notifications import Balance, PreferencesOut, balances_view
from miniprogram_api.schemas import In

router = APIRouter(tags=["我的信息"])
MAX_ROWS = 500  # per kind in one copy (a customer has a handful)
MAX_CHAT_PAGES = 50  # of the chat's pages (up to 100 rows of each source a page)


class ConsentEventOut(BaseModel):
    category: str = Field(
        examples=["medical"], description="privacy_notice 隐私说明；id_number；medical；bank_account"
    )
    granted: bool = Field(description="true 同意；false 撤回")
    version: str = Field(examples=["medical-2026-01"], description="当时看到的文本版本")
    at: dt.datetime


class MyDataOut(BaseModel):
    """Everything we hold about you (private numbers masked)."""

    exported_at: dt.datetime
    account: MeOut
    consents: list[ConsentEventOut] = Field(description="您的每一次同意和撤回，最早的在前")
    insured: list[InsuredPerson] = Field(description="您绑定的被保险人（包括已解除的）")
    delegates: list[Delegate] = Field(description="代您办事的家人")
    claims: list[ClaimOut] = Field(description="您能看到的理赔案件，含进度、材料和通知")
    complaints: list[ComplaintOut]
    visits: list[VisitOut]
    subscriptions: list[Balance]
    preferences: PreferencesOut
    chat: list[ChatLine] = Field(description="您在小程序里和客服的聊天记录")


class ContactPhoneIn(In):
    phone: str = Field(min_length=1, max_length=20, examples=["13912345678"], description="新的联系电话")


class ContactPhoneOut(BaseModel):
    claim_id: int = Field(examples=[12])
    changed_at: dt.datetime


class KeptOut(BaseModel):
    what: str = Field(examples=["理赔案件"])
    why: str = Field(examples=["保险法规定理赔资料要保存，保存期满后会自动删除"])


class ErasureOut(BaseModel):
    deleted: list[str] = Field(examples=[["账号和手机号", "绑定的被保险人", "同意记录（已撤回）"]])
    kept: list[KeptOut]


KEPT = [
    KeptOut(
        what="理赔案件和上传的材料",
        why="保险法要求保险公司保存理赔资料（保险期满后至少5年）；期满后会自动删除或去掉姓名等信息",
    ),
    KeptOut(what="投诉和上门服务记录", why="监管规定要保存投诉处理记录；期满后会自动删除或去掉姓名等信息"),
    KeptOut(what="同意和撤回的记录", why="用来证明您什么时候同意、什么时候撤回；里面没有您的身份证号和电话"),
]


def _chat(db: DbSession, cipher: CipherDep, openid: str) -> list[ChatLine]:
    """The whole mini-program chat, oldest first (page by page, as the poll reads it)."""
    out: list[ChatLine] = []
    since = Cursor()
    for _ in range(MAX_CHAT_PAGES):
        page = lines_after(db, cipher=cipher, openid=openid, since=since)
        if not page.items:
            break
        out += page.items
        since = parse_cursor(page.cursor)
    return out


@router.get("/me/data", response_model=MyDataOut, summary="下载我的全部信息")
def my_data(
    customer: CurrentCustomer, runtime: RuntimeDep, db: DbSession, cipher: CipherDep, ip: ClientIp, now: Now
) -> MyDataOut:
    """A copy of everything we hold about you, in one answer (save it as a file). Numbers such as the
    ID number and phone are masked; to get them in full, call the service line."""
    acc = customer.account
    claims = list(
        db.scalars(
            select(Claim).where(access.visible_claims(db, account=acc)).order_by(Claim.id).limit(MAX_ROWS)
        ).unique()
    )
    complaints = db.scalars(
        select(Complaint)
        .where(access.visible_complaints(db, account=acc))
        .order_by(Complaint.id)
        .limit(MAX_ROWS)
    )
    visits = db.scalars(
        select(HomeVisit).where(access.visible_visits(db, account=acc)).order_by(HomeVisit.id).limit(MAX_ROWS)
    )
    book = claim_book(runtime)
    pref = subs.preferences(db, channel=acc.channel, openid=acc.openid)
    out = MyDataOut(
        exported_at=now,
        account=me_view(db, acc, cipher),
        consents=[
            ConsentEventOut(category=e.category, granted=e.granted, version=e.text_version, at=e.at)
            for e in subject.consent_history(db, account=acc)
        ],
        insured=[person_view(d) for d in delegations_of(db, account_id=acc.id, include_revoked=True)],
        delegates=[delegate_view(d) for d in delegates_of_insured(db, account_id=acc.id)],
        claims=[
            claim_view(db, c, cipher=cipher, calendar=runtime.calendar, book=book, now=now) for c in claims
        ],
        complaints=[complaint_view(c, cipher) for c in complaints],
        visits=[visit_view(v) for v in visits],
        subscriptions=balances_view(subs.balances(db, channel=acc.channel, openid=acc.openid)).items,
        preferences=PreferencesOut(wechat=pref.wechat, sms=pref.sms),
        chat=_chat(db, cipher, acc.openid),
    )
    record_event(
        db,
        actor=subject.actor_of(acc),
        action="export",
        object_type="customer_account",
        object_id=acc.id,
        purpose="subject_request",
        ip=ip,
        at=now,
    )
    return out


@router.put("/claims/{claim_id}/contact-phone", response_model=ContactPhoneOut, summary="更正案件的联系电话")
def correct_contact_phone(
    claim_id: RowId,
    body: ContactPhoneIn,
    customer: CurrentCustomer,
    db: DbSession,
    cipher: CipherDep,
    now: Now,
) -> ContactPhoneOut:
    """The phone we call about this claim was wrong or has changed: while the claim is open, its
    reporter can correct it. (Your own phone: verify the new one with WeChat at /auth/phone.)"""
    event = subject.correct_contact_phone(
        db, cipher=cipher, account=customer.account, claim_id=claim_id, phone=body.phone, now=now
    )
    return ContactPhoneOut(claim_id=event.claim_id, changed_at=event.at)


@router.delete("/me", response_model=ErasureOut, summary="注销账号，删除我的信息")
def erase(customer: CurrentCustomer, db: DbSession, ip: ClientIp, now: Now) -> ErasureOut:
    """Delete your account and the information kept with it; you are logged out everywhere. What the
    law makes us keep is listed under ``kept``, with the reason."""
    acc = customer.account
    actor, account_id = subject.actor_of(acc), acc.id
    done = subject.erase_account(db, account=acc, now=now)
    record_event(
        db,
        actor=actor,
        action="erase",
        object_type="customer_account",
        object_id=account_id,
        purpose="subject_request",
        ip=ip,
        at=now,
    )
    deleted = ["账号和登录信息"]
    if done.phone:
        deleted.append("手机号")
    if done.bindings:
        deleted.append("绑定的被保险人")
    if done.consents_withdrawn:
        deleted.append("各项同意（已撤回，不再使用您的身份证号、病历和银行卡信息）")
    deleted.append("消息订阅和通知方式")
    return ErasureOut(deleted=deleted, kept=KEPT)
