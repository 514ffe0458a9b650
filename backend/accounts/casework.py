"""What a customer does through an account: report and withdraw claims, file complaints, ask for and
cancel home visits. Each step checks the account may act (delegation, visibility) and then calls the
domain's own service, so the fields and checks are the bot's and the staff's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts import access
from backend.accounts.delegation import get_delegation
from backend.accounts.models import CustomerAccount
from backend.calendar.service import WorkingCalendar
from backend.claims.models import Claim
from backend.claims.service import report_claim, transition_claim
from backend.complaints import home_visits
from backend.complaints.models import Complaint, HomeVisit
from backend.complaints.service import file_complaint
from backend.db import utcnow
from backend.errors import Forbidden, NotFound
from backend.privacy.service import require_privacy_notice
from backend.products.service import ProductCatalog
from backend.roster.models import PURPOSE_ID_NUMBER, PURPOSE_NAME, RosterPerson
from backend.roster.service import EligibilityResult, eligibility
from backend.security.crypto import FieldCipher


def actor_of(account: CustomerAccount) -> str:
    """The actor recorded for a customer's own steps."""
    return f"customer:{account.openid}"


@dataclass(frozen=True)
class ClaimReport:
    """What a customer reports besides the insured person (the bot's claim fields)."""

    claim_type: str
    accident_type: str
    accident_date: dt.date
    description: str
    reporter_phone: str
    place: str | None = None
    hospital: str | None = None


def report_claim_for(
    session: Session,
    *,
    cipher: FieldCipher,
    catalog: ProductCatalog,
    calendar: WorkingCalendar,
    account: CustomerAccount,
    delegation_id: int,
    report: ClaimReport,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Claim, EligibilityResult]:
    """Report a claim for an insured person the account acts for; also says whether they were covered."""
    now = now or utcnow()
    require_privacy_notice(session, channel=account.channel, user_id=account.openid)
    delegation = get_delegation(session, account_id=account.id, delegation_id=delegation_id)
    person = session.get(RosterPerson, delegation.roster_person_id)
    if person is None:  # pragma: no cover - roster rows are never deleted
        raise NotFound("insured_not_found", "找不到这位被保险人，请先绑定")
    name = cipher.decrypt(person.name_enc, purpose=PURPOSE_NAME)
    id_number = cipher.decrypt(person.id_number_enc, purpose=PURPOSE_ID_NUMBER)
    product = catalog.get(delegation.product_id)
    covered = eligibility(
        session, cipher=cipher, id_number=id_number, on=report.accident_date, product=product
    )
    claim = report_claim(
        session,
        cipher=cipher,
        catalog=catalog,
        calendar=calendar,
        product_id=product.id,
        claim_type=report.claim_type,
        insured_name=name,
        insured_id_number=id_number,
        reporter_phone=report.reporter_phone,
        reporter_relation=delegation.relation,
        accident_date=report.accident_date,
        accident_type=report.accident_type,
        description=report.description,
        channel=account.channel,
        actor=actor_of(account),
        place=report.place,
        hospital=report.hospital,
        idempotency_key=None if idempotency_key is None else f"acct{account.id}:{idempotency_key}"[:100],
        now=now,
        reporter_openid=account.openid,
        roster_person_id=person.id,
    )
    return claim, covered


def withdraw_claim(
    session: Session,
    *,
    cipher: FieldCipher,
    calendar: WorkingCalendar,
    account: CustomerAccount,
    claim_id: int,
    reason: str,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Claim:
    """Withdraw a claim (撤案): by its reporter or by the insured person themselves."""
    claim = access.visible_claim(session, account=account, claim_id=claim_id)
    if not (
        access.reported_by_account(session, account=account, claim=claim)
        or access.is_insured(session, account=account, claim=claim)
    ):
        raise Forbidden("not_reporter", "只有报案人或被保险人本人可以撤案")
    return transition_claim(
        session,
        cipher=cipher,
        calendar=calendar,
        claim_id=claim.id,
        to_state="withdrawn",
        actor=actor_of(account),
        reason=reason,
        expected_version=expected_version,
        now=now or utcnow(),
    )


def file_complaint_for(
    session: Session,
    *,
    cipher: FieldCipher,
    catalog: ProductCatalog,
    calendar: WorkingCalendar,
    account: CustomerAccount,
    category: str,
    complainant_name: str,
    contact_phone: str,
    content: str,
    related_claim_id: int | None = None,
    now: dt.datetime | None = None,
) -> Complaint:
    """File a complaint; a related claim must be one the account may see."""
    case_no = None
    if related_claim_id is not None:
        case_no = access.visible_claim(session, account=account, claim_id=related_claim_id).case_no
    return file_complaint(
        session,
        cipher=cipher,
        catalog=catalog,
        calendar=calendar,
        category=category,
        severity="normal",
        channel=account.channel,
        complainant_name=complainant_name,
        contact_phone=contact_phone,
        content=content,
        actor=actor_of(account),
        related_case_no=case_no,
        openid=account.openid,
        now=now,
    )


def request_visit_for(
    session: Session,
    *,
    cipher: FieldCipher,
    catalog: ProductCatalog,
    account: CustomerAccount,
    name: str,
    phone: str,
    address: str,
    purpose: str,
    related_claim_id: int | None = None,
    now: dt.datetime | None = None,
) -> HomeVisit:
    """Ask for a home visit; a related claim must be one the account may see."""
    case_no = None
    if related_claim_id is not None:
        case_no = access.visible_claim(session, account=account, claim_id=related_claim_id).case_no
    return home_visits.request_home_visit(
        session,
        cipher=cipher,
        catalog=catalog,
        name=name,
        phone=phone,
        address=address,
        purpose=purpose,
        channel=account.channel,
        actor=actor_of(account),
        openid=account.openid,
        related_case_no=case_no,
        now=now,
    )


def cancel_visit_for(
    session: Session,
    *,
    cipher: FieldCipher,
    account: CustomerAccount,
    visit_id: int,
    reason: str,
    now: dt.datetime | None = None,
) -> HomeVisit:
    """Cancel one's own home-visit request (before the visit)."""
    visit = access.visible_visit(session, account=account, visit_id=visit_id)
    return home_visits.cancel_home_visit(
        session, cipher=cipher, visit_id=visit.id, actor=actor_of(account), reason=reason, now=now
    )


def claims_page(
    session: Session,
    *,
    account: CustomerAccount,
    limit: int,
    before_id: int | None = None,
    state: str | None = None,
) -> list[Claim]:
    """The account's visible claims, newest first, keyset-paginated by id."""
    q = select(Claim).where(access.visible_claims(session, account=account))
    if before_id is not None:
        q = q.where(Claim.id < before_id)
    if state is not None:
        q = q.where(Claim.state == state)
    return list(session.scalars(q.order_by(Claim.id.desc()).limit(limit)))
