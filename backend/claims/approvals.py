"""Approving a claim's amount: bounded by the product, explained when above the computed benefit, and
checked by a second person above a configured amount (issue 8 item 6; audited, A-04).

An officer approves with the amount and the facts it rests on (the stay's dates for a hospital
allowance, the disability grade, the transport of a transport death). The benefit calculator
(``backend.claims.benefits``, driven by the product file) computes what the product pays for those facts
(a hospital allowance also counts the days already approved for the same insured person in the same
policy year) and the most the product can pay for the claim type at all:

* an amount above that ceiling is refused (``amount_over_limit``), whatever the reason;
* an amount above the computed benefit needs a reason (``reason_required``);
* an amount above ``CS_CLAIMS__SECOND_APPROVAL_ABOVE_YUAN`` waits (``pending``) until another claims
  officer or a supervisor confirms it, typing the same amount (:func:`confirm_approval`); anything at or
  below applies at once.

The claim is then approved through ``backend.claims.workflow.apply_transition``, and whoever set the
amount cannot also mark it paid (``ensure_second_person_pays``). Every proposal, confirmation, decline
and refusal is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.calendar.service import WorkingCalendar, local_date
from backend.claims import benefits
from backend.claims import validation as v
from backend.claims.models import Claim, ClaimApproval
from backend.claims.queries import get_claim
from backend.claims.states import TRANSITIONS, ClaimState, allowed_targets, label
from backend.claims.workflow import (
    ApprovalRefused,
    apply_transition,
    check_version,
    ensure_not_frozen,
    record_claim_event,
)
from backend.errors import Conflict, NotFound, ServiceError
from backend.privacy.freetext import seal
from backend.products.schemas import Product, TransportBenefit
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from backend.staff.models import Role

SECOND_APPROVER_ROLES = frozenset({Role.CLAIMS_OFFICER, Role.SUPERVISOR})


@dataclass(frozen=True)
class BenefitFacts:
    """What an amount rests on; which fields are needed depends on the claim type."""

    admission: dt.date | None = None
    discharge: dt.date | None = None
    grade: int | None = None
    transport: str | None = None
    operating: bool = True


@dataclass(frozen=True)
class Computation:
    """The benefit computed for the facts, and the most the product pays for the claim type."""

    benefit: str
    computed_fen: int
    ceiling_fen: int
    facts: dict[str, Any]
    allowance_days: int | None = None
    policy_year: int | None = None


def _yuan(fen: int) -> str:
    return f"{fen // 100}元" if fen % 100 == 0 else f"{fen / 100:.2f}元"


def policy_year(product: Product, day: dt.date) -> int:
    """The policy year a day falls in (years run from the scheme's start date)."""
    start = product.scheme_start or dt.date(product.version, 1, 1)
    return day.year if (day.month, day.day) >= (start.month, start.day) else day.year - 1


def allowance_days_paid(session: Session, *, claim: Claim, year: int) -> int:
    """Hospital-allowance days approved on the insured person's other claims in one policy year."""
    if claim.insured_id_bidx is None:
        return 0
    total = session.scalar(
        select(func.coalesce(func.sum(ClaimApproval.allowance_days), 0))
        .join(Claim, Claim.id == ClaimApproval.claim_id)
        .where(Claim.insured_id_bidx == claim.insured_id_bidx, Claim.product_id == claim.product_id,
               Claim.id != claim.id, Claim.state != ClaimState.WITHDRAWN.value,
               ClaimApproval.status == "approved", ClaimApproval.policy_year == year))
    return int(total or 0)


def _hospital_allowance(session: Session, claim: Claim, product: Product, facts: BenefitFacts,
                        today: dt.date) -> Computation:
    if facts.admission is None or facts.discharge is None:
        raise v.invalid("benefit_facts.admission", "请填写入院日期和出院日期", "facts_required")
    if facts.admission < claim.accident_date:
        raise v.invalid("benefit_facts.admission", "入院日期不能早于出事日期", "invalid_facts")
    v.not_future(facts.discharge, today=today, field="benefit_facts.discharge", label="出院日期")
    year = policy_year(product, facts.admission)
    paid = allowance_days_paid(session, claim=claim, year=year)
    result = benefits.hospital_allowance(product, admission=facts.admission, discharge=facts.discharge,
                                         paid_days_this_year=paid)
    ha = product.benefits.hospital_allowance
    per_day = ha.per_day_yuan * 100
    return Computation("hospital_allowance", result.total_fen, per_day * ha.max_days_per_stay,
                       {"admission": facts.admission.isoformat(), "discharge": facts.discharge.isoformat()},
                       allowance_days=result.total_fen // per_day, policy_year=year)


def compute(session: Session, *, claim: Claim, product: Product, facts: BenefitFacts,
            today: dt.date) -> Computation:
    """What the product pays for these facts, and its ceiling for the claim type (BenefitInputError or
    ``facts_required`` when the facts do not fit)."""
    death = product.benefits.accidental_death.amount_yuan * 100
    if claim.claim_type == "hospital_allowance":
        return _hospital_allowance(session, claim, product, facts, today)
    if claim.claim_type == "accidental_death":
        return Computation("accidental_death", benefits.death_benefit(product).total_fen, death, {})
    if claim.claim_type == "disability":
        if facts.grade is None:
            raise v.invalid("benefit_facts.grade", "请填写伤残等级", "facts_required")
        dis = product.benefits.disability
        result = benefits.disability_benefit(product, grade=facts.grade)
        ceiling = dis.sum_insured_yuan * max(dis.grade_percent.values())  # yuan × percent = fen
        return Computation("disability", result.total_fen, ceiling, {"grade": facts.grade})
    if claim.claim_type == "transport_death":
        if facts.transport is None:
            raise v.invalid("benefit_facts.transport", "请选择交通工具类型", "facts_required")
        result = benefits.transport_death_benefit(product, kind=facts.transport, operating=facts.operating)
        ceiling = max([death, *(t.amount_yuan * 100 for t in product.benefits.transport_death.values()
                                if isinstance(t, TransportBenefit))])
        return Computation("transport_death", result.total_fen, ceiling,
                           {"transport": facts.transport, "operating": facts.operating})
    raise ServiceError("no_benefit_rule", "这种理赔类型没有赔付计算规则，不能在系统里核定金额",
                       status_code=422, detail={"claim_type": claim.claim_type})


def _audit(session: Session, *, claim_id: int, actor: str, ip: str | None, result: str,
           approval: ClaimApproval, now: dt.datetime) -> None:
    purpose = (f"approval {approval.id}: {approval.amount_fen} fen (computed {approval.computed_fen}, "
               f"ceiling {approval.ceiling_fen})")
    record_event(session, actor=actor, action="claim_approval", object_type="claim", object_id=claim_id,
                 field="approved_amount_fen", ip=ip, result=result, at=now, purpose=purpose)


def record_refusal(session: Session, *, claim_id: int, actor: str, ip: str | None, error: ServiceError,
                   action: str = "claim_approval", now: dt.datetime) -> None:
    """Audit a refused approval, confirmation or payment (the request answers an error)."""
    record_event(session, actor=actor, action=action, object_type="claim", object_id=claim_id,
                 field="approved_amount_fen", ip=ip, result=f"refused: {error.code}", at=now,
                 purpose=str(error.detail)[:500] if error.detail else None)


@dataclass(frozen=True)
class ApprovalOutcome:
    """The claim, and the approval: ``approved`` (applied to the claim) or ``pending`` a second person."""

    claim: Claim
    approval: ClaimApproval


def propose_approval(
    session: Session, *, cipher: FieldCipher, calendar: WorkingCalendar, catalog: ProductCatalog,
    second_approval_above_fen: int, claim_id: int, amount_fen: int | None, facts: BenefitFacts,
    reason: str | None, actor: str, ip: str | None = None, expected_version: int | None = None,
    now: dt.datetime,
) -> ApprovalOutcome:
    """Approve an amount for a claim under review, or put it before a second approver above the limit."""
    who = v.actor(actor)
    claim = get_claim(session, claim_id=claim_id)
    ensure_not_frozen(claim)
    check_version(claim, expected_version)
    if ClaimState.APPROVED not in TRANSITIONS[ClaimState(claim.state)]:
        raise Conflict("invalid_transition",
                       f"案件现在是「{label(claim.state)}」，不能改为「{label('approved')}」",
                       detail={"from": claim.state, "to": "approved",
                               "allowed": allowed_targets(claim.state)})
    if amount_fen is None or amount_fen <= 0:
        raise v.invalid("approved_amount_fen", "请填写核定的赔付金额", "amount_required")
    why = v.text(reason, field="reason", label="原因", max_len=1000, required=False)
    done = compute(session, claim=claim, product=catalog.get(claim.product_id), facts=facts,
                   today=local_date(now))
    money = {"amount_fen": amount_fen, "computed_fen": done.computed_fen, "ceiling_fen": done.ceiling_fen}
    if amount_fen > done.ceiling_fen:
        raise ApprovalRefused("amount_over_limit",
                              f"金额超过了这个产品这类理赔的最高赔付（{_yuan(done.ceiling_fen)}），不能核定",
                              detail=money, status_code=422)
    if amount_fen > done.computed_fen and why is None:
        raise ApprovalRefused("reason_required",
                              f"金额高于按条款算出的{_yuan(done.computed_fen)}，请写明原因", detail=money,
                              status_code=422)
    for older in session.scalars(select(ClaimApproval).where(ClaimApproval.claim_id == claim.id,
                                                             ClaimApproval.status == "pending")):
        older.status, older.decided_at = "superseded", now
    pending = amount_fen > second_approval_above_fen
    approval = ClaimApproval(
        claim_id=claim.id, claim_version=claim.version, benefit=done.benefit, facts=done.facts,
        computed_fen=done.computed_fen, ceiling_fen=done.ceiling_fen, amount_fen=amount_fen,
        allowance_days=done.allowance_days, policy_year=done.policy_year,
        over_reason_enc=seal(why, cipher=cipher, purpose=ClaimApproval.FREE_TEXT["over_reason"][1])
        if amount_fen > done.computed_fen else None,
        status="pending" if pending else "approved", proposed_by=who, proposed_at=now,
        second_approver=None, decided_at=None if pending else now)
    session.add(approval)
    session.flush()
    if pending:
        record_claim_event(session, claim, cipher=cipher, kind="approval_proposed", actor=who, at=now,
                           reason=why)
    else:
        apply_transition(session, claim, cipher=cipher, calendar=calendar, to_state=ClaimState.APPROVED,
                         actor=who, reason=why, now=now, approval=approval)
    _audit(session, claim_id=claim.id, actor=who, ip=ip, approval=approval, now=now,
           result="pending_second_approver" if pending else "approved")
    return ApprovalOutcome(claim, approval)


def _pending(session: Session, claim: Claim, approval_id: int) -> ClaimApproval:
    approval = session.get(ClaimApproval, approval_id)
    if approval is None or approval.claim_id != claim.id:
        raise NotFound("approval_not_found", "找不到这个审批")
    if approval.status != "pending":
        raise Conflict("approval_not_pending", "这个审批已经处理过了", detail={"status": approval.status})
    return approval


def confirm_approval(
    session: Session, *, cipher: FieldCipher, calendar: WorkingCalendar, claim_id: int, approval_id: int,
    amount_fen: int, actor: str, role: str, ip: str | None = None, expected_version: int | None = None,
    now: dt.datetime,
) -> Claim:
    """The second approver confirms a pending amount (typing it again): the claim is approved."""
    who = v.actor(actor)
    claim = get_claim(session, claim_id=claim_id)
    ensure_not_frozen(claim)
    approval = _pending(session, claim, approval_id)
    if role not in SECOND_APPROVER_ROLES:
        raise ApprovalRefused("second_approver_role", "复核金额要由理赔员或主管来做", status_code=403,
                              detail={"allowed_roles": sorted(str(r) for r in SECOND_APPROVER_ROLES)})
    if who == approval.proposed_by:
        raise ApprovalRefused("same_approver", "复核要由另一位理赔员或主管来做，不能复核自己提交的金额",
                              status_code=403, detail={"approval_id": approval.id})
    if amount_fen != approval.amount_fen:
        raise ApprovalRefused("amount_mismatch", "复核的金额和提交的金额不一样，请核对", status_code=409,
                              detail={"approval_id": approval.id})
    if is_stale(approval, claim):
        raise Conflict("approval_stale", "案件在提交金额之后改过了，请重新提交",
                       detail={"approval_id": approval.id})
    check_version(claim, expected_version)
    approval.status, approval.second_approver, approval.decided_at = "approved", who, now
    session.flush()
    apply_transition(session, claim, cipher=cipher, calendar=calendar, to_state=ClaimState.APPROVED,
                     actor=who, reason=f"复核同意（{approval.proposed_by}提交的金额）", now=now,
                     approval=approval)
    _audit(session, claim_id=claim.id, actor=who, ip=ip, approval=approval, now=now, result="confirmed")
    return claim


def decline_approval(
    session: Session, *, cipher: FieldCipher, claim_id: int, approval_id: int, reason: str, actor: str,
    ip: str | None = None, now: dt.datetime,
) -> Claim:
    """Send a pending amount back (with a reason): the claim stays under review."""
    who = v.actor(actor)
    why = v.text(reason, field="reason", label="原因", max_len=1000, required=False)
    if why is None:
        raise v.invalid("reason", "请填写退回的原因", "reason_required")
    claim = get_claim(session, claim_id=claim_id)
    ensure_not_frozen(claim)
    approval = _pending(session, claim, approval_id)
    approval.status, approval.second_approver, approval.decided_at = "declined", who, now
    record_claim_event(session, claim, cipher=cipher, kind="approval_declined", actor=who, at=now, reason=why)
    _audit(session, claim_id=claim.id, actor=who, ip=ip, approval=approval, now=now, result="declined")
    return claim


def approvals_of(session: Session, *, claim_id: int) -> list[ClaimApproval]:
    """A claim's approvals, newest first."""
    return list(session.scalars(select(ClaimApproval).where(ClaimApproval.claim_id == claim_id)
                                .order_by(ClaimApproval.id.desc())))


def pending_approval(session: Session, *, claim_id: int) -> ClaimApproval | None:
    """The claim's amount waiting for a second approver, if any (a newer proposal supersedes older ones)."""
    return session.scalar(select(ClaimApproval).where(ClaimApproval.claim_id == claim_id,
                                                      ClaimApproval.status == "pending")
                          .order_by(ClaimApproval.id.desc()).limit(1))


def is_stale(approval: ClaimApproval, claim: Claim) -> bool:
    """The claim changed after the amount was proposed: confirming is refused (propose it again)."""
    return claim.version != approval.claim_version


def may_decide(approval: ClaimApproval, *, actor: str, role: str) -> bool:
    """Whether this staff member may confirm or decline the pending amount: a second-approver role and
    not the proposer (the checks :func:`confirm_approval` makes; it stays the one that enforces them)."""
    return role in SECOND_APPROVER_ROLES and actor != approval.proposed_by
