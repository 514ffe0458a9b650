"""Claims: the public service API (report here; the rest in focused modules, re-exported below).

* :mod:`backend.claims.queries`: look up, list, history, enquiry.
* :mod:`backend.claims.workflow`: the state machine (one place for every state change), the complex
  flag, the frozen rule for closed records (D-05).
* :mod:`backend.claims.materials`: the materials checklist and the payout bank account (D-03).
* :mod:`backend.claims.attachments`: files and WeChat pictures sent for a claim (W-16).

Services flush, never commit. Reporting from a customer channel needs the reporter's consent to use
the ID number (D-04, ``backend.privacy.service``); a report entered by staff records the consent
given on the phone, with the staff member as the actor.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar, local_date
from backend.claims import validation as v
from backend.claims.deadlines import refresh_deadline, standards_snapshot
from backend.claims.materials import mark_material, set_bank_account
from backend.claims.models import (
    PURPOSE_INSURED_ID,
    PURPOSE_INSURED_NAME,
    PURPOSE_REPORTER_PHONE,
    Claim,
    ClaimMaterial,
)
from backend.claims.numbers import next_case_number
from backend.claims.queries import (
    MAX_PAGE,
    claim_for_enquiry,
    claim_history,
    find_claims_by_id_number,
    get_claim,
    insured_name_of,
    list_claims,
    recompute_provisional_deadlines,
)
from backend.claims.states import ClaimState
from backend.claims.workflow import ensure_not_frozen, record_claim_event, set_complex, transition_claim
from backend.db import utcnow
from backend.errors import Conflict, ServiceError
from backend.outbox import notify_claim_change
from backend.privacy.freetext import free_text, sealed_fields
from backend.privacy.service import ensure_consent
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from backend.security.masking import mask_name

__all__ = [
    "MAX_PAGE",
    "claim_for_enquiry",
    "claim_history",
    "claim_text",
    "ensure_not_frozen",
    "find_claims_by_id_number",
    "get_claim",
    "insured_name_of",
    "list_claims",
    "mark_material",
    "recompute_provisional_deadlines",
    "report_claim",
    "set_bank_account",
    "set_complex",
    "transition_claim",
]


def report_claim(
    session: Session,
    *,
    cipher: FieldCipher,
    catalog: ProductCatalog,
    calendar: WorkingCalendar,
    product_id: str,
    claim_type: str,
    insured_name: str,
    insured_id_number: str | None,
    reporter_phone: str,
    reporter_relation: str,
    accident_date: dt.date,
    accident_type: str,
    description: str,
    channel: str,
    actor: str,
    place: str | None = None,
    hospital: str | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
    reporter_openid: str | None = None,
    roster_person_id: int | None = None,
) -> Claim:
    """Record a claim report with its materials checklist; a repeated idempotency key returns the first.

    ``insured_id_number`` may be None for a report taken in chat from a customer who cannot give it
    now (or declined its use, D-04): the ID card then comes with the materials.
    """
    now = now or utcnow()
    product = catalog.get(product_id)
    if claim_type not in product.claim_types:
        raise ServiceError(
            "unknown_claim_type",
            "没有这种理赔类型，请重新选择",
            detail={"field": "claim_type", "allowed": sorted(product.claim_types)},
        )
    id_number = (v.id_number(insured_id_number, field="insured_id_number")
                 if insured_id_number is not None else None)
    phone = v.phone_number(reporter_phone, field="reporter_phone")
    name = v.required_text(insured_name, field="insured_name", label="被保险人姓名", max_len=100)
    fields = {
        "reporter_relation": v.required_text(
            reporter_relation, field="reporter_relation", label="与被保险人的关系", max_len=32
        ),
        "accident_type": v.required_text(accident_type, field="accident_type", label="意外类型", max_len=64),
    }
    free = {  # encrypted at rest (D-01, C-01): checked in clear first
        "description": v.required_text(description, field="description", label="事情经过", max_len=2000),
        "place": v.text(place, field="place", label="出事地点", max_len=200, required=False),
        "hospital": v.text(hospital, field="hospital", label="医院", max_len=200, required=False),
    }
    v.not_future(accident_date, today=local_date(now), field="accident_date", label="出事日期")
    chan = v.channel(channel)
    who = v.actor(actor)
    key = v.text(idempotency_key, field="idempotency_key", label="请求编号", max_len=100, required=False)
    id_bidx = cipher.blind_index(id_number, purpose=PURPOSE_INSURED_ID) if id_number is not None else None
    openid = v.text(reporter_openid, field="reporter_openid", label="微信用户", max_len=64, required=False)
    # D-04: nothing is stored (not even a retry's answer) without consent to use the ID number.
    if id_number is not None and id_bidx is not None:
        ensure_consent(session, category="id_number", channel=chan, actor=who, user_id=openid,
                       id_bidx=id_bidx, now=now)
    elif chan not in ("official_account", "mini_program"):
        raise v.invalid("insured_id_number", "请填写身份证号")
    if key is not None:
        existing = session.scalar(select(Claim).where(Claim.idempotency_key == key))
        if existing is not None:
            return _same_report(existing, id_bidx=id_bidx, product_id=product.id, claim_type=claim_type)
    try:
        with session.begin_nested():
            claim = Claim(
                case_no=next_case_number(session, prefix="LP", at=now),
                product_id=product.id,
                claim_type=claim_type,
                state=ClaimState.REPORTED.value,
                insured_name_enc=cipher.encrypt(name, purpose=PURPOSE_INSURED_NAME),
                insured_name_masked=mask_name(name) or "*",
                insured_id_enc=cipher.encrypt(id_number, purpose=PURPOSE_INSURED_ID) if id_number else None,
                insured_id_bidx=id_bidx,
                roster_person_id=roster_person_id,
                reporter_phone_enc=cipher.encrypt(phone, purpose=PURPOSE_REPORTER_PHONE),
                reporter_phone_bidx=cipher.blind_index(phone, purpose=PURPOSE_REPORTER_PHONE),
                reporter_openid=openid,
                channel=chan,
                accident_date=accident_date,
                reported_at=now,
                updated_at=now,
                standards=standards_snapshot(product),
                idempotency_key=key,
                is_complex=False,
                **fields,
                **sealed_fields(Claim, free, cipher=cipher),
            )
            claim.materials = [
                ClaimMaterial(material_id=m.id, label=m.label, received=False)
                for m in product.materials_for(claim_type)
            ]
            refresh_deadline(claim, calendar)
            session.add(claim)
            session.flush()
            record_claim_event(session, claim, cipher=cipher, kind="reported", actor=who,
                               to_state=claim.state, at=now)
            notify_claim_change(session, claim=claim, calendar=calendar, now=now,
                                phone_purpose=PURPOSE_REPORTER_PHONE)
    except IntegrityError:
        if key is None:
            raise
        existing = session.scalar(select(Claim).where(Claim.idempotency_key == key))
        if existing is None:
            raise
        return _same_report(existing, id_bidx=id_bidx, product_id=product.id, claim_type=claim_type)
    return claim


def claim_text(claim: Claim, field: str, *, cipher: FieldCipher) -> str | None:
    """The clear text of a claim's free-text field (place, hospital, description, complex_reason)."""
    return free_text(claim, field, cipher=cipher)


def _same_report(claim: Claim, *, id_bidx: str | None, product_id: str, claim_type: str) -> Claim:
    if (claim.insured_id_bidx, claim.product_id, claim.claim_type) != (id_bidx, product_id, claim_type):
        raise Conflict(
            "idempotency_key_reused",
            "这个请求编号已用于另一份报案，请重新提交",
            detail={"field": "idempotency_key"},
        )
    return claim

