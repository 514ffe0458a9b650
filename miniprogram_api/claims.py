"""Claims: report one (the bot's fields and checks, through the same domain services), list mine, one
claim with its stage, next step, checklist and timeline, and withdraw."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.accounts import access, casework
from backend.accounts.service import phone_of
from backend.calendar.service import WorkingCalendar
from backend.claims.models import Claim
from backend.claims.progress import claim_progress
from backend.claims.states import OPEN_STATES, ClaimState
from backend.db import read_scope
from backend.deps import CatalogDep, CipherDep, DbSession, RuntimeDep, get_runtime
from backend.errors import ServiceError
from backend.idempotency import service as idem
from backend.notices.service import notices_for_claim, timeline_from
from backend.notices.templates import NoticeBook, load_book
from backend.products.service import ProductCatalog
from backend.ratelimit import RateLimited
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from miniprogram_api.claim_read import DetailRead, read_detail
from miniprogram_api.claim_view import (
    FILES_OF_CLAIM,
    AttachmentOut,
    AttachmentRow,
    ChecklistOut,
    ClaimFields,
    ClaimSummary,
    CoverageOut,
    NextStepOut,
    TimelineOut,
    attachment_view,
    summary,
    text_of,
)
from miniprogram_api.deps import (
    BearerToken,
    Before,
    CurrentCustomer,
    IdempotencyKey,
    Now,
    PageLimit,
    RowId,
    account_of,
    get_now,
    session_counted,
)
from miniprogram_api.notices import NoticeSentOut, notice_view
from miniprogram_api.schemas import In, Page, yuan

router = APIRouter(tags=["理赔"])
Accident = Literal[
    "traffic",
    "fall",
    "burn",
    "dog_bite",
    "falling_object",
    "cut",
    "collision",
    "drowning",
    "electric_shock",
    "other",
]
StateFilter = Literal[
    "reported", "materials_pending", "under_review", "approved", "rejected", "paid", "closed", "withdrawn"
]


class ClaimIn(In):
    """A claim report. Fields such as ``state``, ``amount`` or ``owner`` are ignored if sent."""

    insured_id: int = Field(
        ge=1, le=2**31 - 1, examples=[3], description="被保险人编号（先在 /insured 绑定）"
    )
    claim_type: Literal["hospital_allowance", "disability", "accidental_death", "transport_death"] = Field(
        examples=["hospital_allowance"]
    )
    accident_type: Accident = Field(examples=["fall"])
    accident_date: dt.date = Field(examples=["2026-02-27"], description="出事日期，不能晚于今天")
    description: str = Field(min_length=1, max_length=2000, examples=["在家里摔倒，送医院住院"])
    place: str | None = Field(default=None, max_length=200, examples=["家里"])
    hospital: str | None = Field(default=None, max_length=200, examples=["潮南区人民医院"])
    reporter_phone: str | None = Field(
        default=None,
        max_length=20,
        examples=["13800138000"],
        description="联系电话；不填用登录时验证的手机号",
    )


class WithdrawIn(In):
    reason: str = Field(min_length=1, max_length=1000, examples=["已经好了，不用赔了"])
    version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="看到的案件版本；被别人改过会返回 409"
    )


class ClaimOut(ClaimSummary):
    version: int = Field(examples=[3])
    reporter_relation: str = Field(examples=["parent"])
    accident_type: str
    accident_date: dt.date
    description: str | None = None
    place: str | None = None
    hospital: str | None = None
    stage_text: str = Field(examples=["正在等您补交材料"])
    next_step: NextStepOut
    checklist: list[ChecklistOut]
    timeline: list[TimelineOut]
    notices: list[NoticeSentOut] = Field(description="我们发给您的这件案子的通知，最新的在前")
    attachments: list[AttachmentOut]
    approved_yuan: str | None = Field(default=None, examples=["300.00"])
    paid_yuan: str | None = None
    can_withdraw: bool
    coverage: CoverageOut | None = Field(default=None, description="只在报案时返回：出事那天是否在保障期内")


def claim_view(
    db: Session,
    claim: ClaimFields,
    *,
    cipher: FieldCipher,
    calendar: WorkingCalendar,
    book: NoticeBook,
    now: dt.datetime,
    coverage: CoverageOut | None = None,
    read: DetailRead | None = None,
) -> ClaimOut:
    """The full detail of one claim (the account's visibility is checked by the caller); ``read``: its
    files, history and notices when the caller has read them (``claim_read``)."""
    rows: Sequence[AttachmentRow]
    if read is None:
        rows = db.connection().execute(FILES_OF_CLAIM, {"claim_id": claim.id}).all()
        notices = notices_for_claim(db, claim_id=claim.id, book=book)  # one read: the list and the timeline
    else:
        rows, notices = read.files, read.notices
    p = claim_progress(db, claim=claim, cipher=cipher, calendar=calendar, now=now, attachments=rows,
                       sourced=timeline_from(notices, book=book), events=read.events if read else None)
    ns = p.next_step
    return ClaimOut(
        **summary(claim).model_dump(),
        version=claim.version,
        reporter_relation=claim.reporter_relation,
        accident_type=claim.accident_type,
        accident_date=claim.accident_date,
        description=text_of(claim, "description", cipher),
        place=text_of(claim, "place", cipher),
        hospital=text_of(claim, "hospital", cipher),
        stage_text=p.stage_text,
        next_step=NextStepOut(
            kind=ns.kind,
            text=ns.text,
            due_date=ns.due_date,
            provisional=ns.provisional,
            working_days_left=ns.working_days_left,
        ),
        checklist=[
            ChecklistOut(
                material_id=c.material_id,
                label=c.label,
                received=c.received,
                medical=c.medical,
                files=c.files,
            )
            for c in p.checklist
        ],
        timeline=[TimelineOut(at=t.at, kind=t.kind, title=t.title, detail=t.detail) for t in p.timeline],
        notices=[notice_view(v) for v in notices],
        attachments=[attachment_view(r) for r in rows],
        approved_yuan=yuan(claim.approved_amount_fen),
        paid_yuan=yuan(claim.paid_amount_fen),
        can_withdraw=ClaimState(claim.state) in OPEN_STATES,
        coverage=coverage,
    )


def _report(
    db: Session,
    *,
    body: ClaimIn,
    customer: CurrentCustomer,
    cipher: FieldCipher,
    catalog: ProductCatalog,
    calendar: WorkingCalendar,
    key: str,
    now: dt.datetime,
) -> tuple[Claim, CoverageOut]:
    phone = body.reporter_phone or phone_of(customer.account, cipher=cipher)
    if not phone:
        raise ServiceError("invalid_input", "请填写联系电话", detail={"field": "reporter_phone"})
    report = casework.ClaimReport(
        claim_type=body.claim_type,
        accident_type=body.accident_type,
        accident_date=body.accident_date,
        description=body.description,
        reporter_phone=phone,
        place=body.place,
        hospital=body.hospital,
    )
    claim, covered = casework.report_claim_for(
        db,
        cipher=cipher,
        catalog=catalog,
        calendar=calendar,
        account=customer.account,
        delegation_id=body.insured_id,
        report=report,
        idempotency_key=key,
        now=now,
    )
    return claim, CoverageOut(covered=covered.eligible, reason=covered.reason)


def claim_book(runtime: Runtime) -> NoticeBook:
    return load_book(runtime.settings.notices.file)


# OpenAPI links of a reported claim: each operation on it takes the new claim's id.
CLAIM_LINKS = {
    name: {"operationId": operation, "parameters": {"claim_id": "$response.body#/id"}}
    for name, operation in (
        ("GetClaim", "claim_detail_mp_v1_claims__claim_id__get"),
        ("UploadAttachment", "upload_mp_v1_claims__claim_id__attachments_post"),
        ("ListAttachments", "attachments_mp_v1_claims__claim_id__attachments_get"),
        ("WithdrawClaim", "withdraw_mp_v1_claims__claim_id__withdraw_post"),
    )
}


@router.post(
    "/claims",
    response_model=ClaimOut,
    status_code=201,
    summary="报案",
    responses={201: {"description": "报好的案件", "links": CLAIM_LINKS}},
)
def report(
    body: ClaimIn,
    key: IdempotencyKey,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    db: DbSession,
    cipher: CipherDep,
    catalog: CatalogDep,
    now: Now,
    response: Response,
) -> ClaimOut:
    """Report a claim for an insured person you are bound to (needs the privacy notice and the ID-number
    consent). Send the same ``Idempotency-Key`` when retrying: one claim is made."""
    owner = f"customer:{customer.id}"
    fp = idem.fingerprint("claims.report", body.model_dump(mode="json"))
    existing = idem.begin(db, owner=owner, key=key, operation="claims.report", fp=fp, now=now)
    if existing is not None:
        response.headers["Idempotent-Replayed"] = "true"
        claim = access.visible_claim(db, account=customer.account, claim_id=existing)
        return claim_view(
            db, claim, cipher=cipher, calendar=runtime.calendar, book=claim_book(runtime), now=now
        )
    claim, coverage = _report(
        db,
        body=body,
        customer=customer,
        cipher=cipher,
        catalog=catalog,
        calendar=runtime.calendar,
        key=key,
        now=now,
    )
    idem.finish(db, owner=owner, key=key, resource_id=claim.id)
    return claim_view(
        db,
        claim,
        cipher=cipher,
        calendar=runtime.calendar,
        book=claim_book(runtime),
        now=now,
        coverage=coverage,
    )


@router.get("/claims", response_model=Page[ClaimSummary], summary="我的案件")
def my_claims(
    customer: CurrentCustomer,
    db: DbSession,
    limit: PageLimit = 20,
    before: Before = None,
    state: StateFilter | None = None,
) -> Page[ClaimSummary]:
    """Claims you reported, and those of the insured people you may see; newest first."""
    rows = casework.claims_page(db, account=customer.account, limit=limit + 1, before_id=before, state=state)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[ClaimSummary](items=[summary(c) for c in rows], next_before=rows[-1].id if more else None)


def _detail(runtime: Runtime, *, token: str | None, claim_id: int, now: dt.datetime) -> ClaimOut:
    """The claim detail's answers in the order of every endpoint's: 401 (no session, or its account
    gone), 429 (over the read limit), 404 (not a claim this account may see)."""
    sess, counted = session_counted(runtime, token=token)
    with read_scope(runtime.sessions) as db:
        # One statement checks the account and reads the claim; who the account is is read apart only
        # when nothing came back (to tell a gone account, 401, from a claim it may not see, 404).
        book = claim_book(runtime)
        read = read_detail(db, account_id=sess.account_id, openid=sess.openid, claim_id=claim_id, book=book)
        if read is None:
            account_of(db, sess)
        if counted.over:
            raise RateLimited(counted.retry_after)
        if read is None:
            raise access.claim_not_found()
        return claim_view(
            db, read.claim, cipher=runtime.cipher, calendar=runtime.calendar, book=book, now=now, read=read
        )


@router.get("/claims/{claim_id}", response_model=ClaimOut, summary="案件详情和进度")
async def claim_detail(claim_id: RowId, credentials: BearerToken, request: Request) -> ClaimOut:
    """The stage, the next step and its date (working days), the checklist, the timeline and the files."""
    # The most read screen: the session check, the rate limit and the reads run in one worker-thread
    # hop (as dependencies they would take four, and the response's validation a fifth). The runtime and
    # the clock are asked here, not declared: two dependencies fewer to solve on every request.
    runtime = await get_runtime(request)
    now = await get_now(runtime)
    token = credentials.credentials if credentials else None
    return await run_in_threadpool(_detail, runtime, token=token, claim_id=claim_id, now=now)


@router.post("/claims/{claim_id}/withdraw", response_model=ClaimOut, summary="撤案")
def withdraw(
    claim_id: RowId,
    body: WithdrawIn,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    db: DbSession,
    cipher: CipherDep,
    now: Now,
) -> ClaimOut:
    """Withdraw an open claim (by its reporter or the insured themselves), with a reason."""
    claim = casework.withdraw_claim(
        db,
        cipher=cipher,
        calendar=runtime.calendar,
        account=customer.account,
        claim_id=claim_id,
        reason=body.reason,
        expected_version=body.version,
        now=now,
    )
    return claim_view(db, claim, cipher=cipher, calendar=runtime.calendar, book=claim_book(runtime), now=now)
