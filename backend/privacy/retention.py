"""D-05 retention: closed records are frozen, then anonymised after the retention period.

Claims, complaints and home visits keep their personal data for ``records_retention_years`` (the
product's service standard; Insurance Law Art. 87: ≥ 5 years for 1-year policies) after they close
(``closed_at``; for a home visit, visited or cancelled). Until then they are FROZEN: read-only
(``backend.claims.workflow.ensure_not_frozen``; a closed complaint has no transition left but its
follow-up visit). After the period :func:`apply_retention` anonymises them: encrypted columns and
blind indexes removed (NULL, or an encrypted empty string where the column cannot be NULL), masked
names replaced by ``***``, free text (encrypted too: place, hospital, description, complaint texts,
every history reason, a visit's purpose and note) and openids cleared — a NOT NULL text becomes the
encrypted ``（已匿名化）``; the case number, type, dates, amounts and
states stay for statistics. Each record gets a history event, an audit record and a row in
``anonymisations`` (the idempotency key): running twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.claims.models import Claim, ClaimApproval, ClaimAttachment, ClaimEvent
from backend.complaints.models import (
    PURPOSE_COMPLAINT_PHONE,
    PURPOSE_VISIT_ADDRESS,
    PURPOSE_VISIT_PHONE,
    Complaint,
    ComplaintEvent,
    HomeVisit,
)
from backend.errors import NotFound
from backend.privacy.freetext import seal, set_free_text
from backend.privacy.models import Anonymisation
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher

log = logging.getLogger(__name__)

ACTOR = "system:retention"
ANON_NAME = "***"
ANON_TEXT = "（已匿名化）"
ANON_CUSTOMER = "customer:anonymised"
ANON_EVENT_REASON = "保存期满，已删除个人信息"


@dataclass
class RetentionResult:
    """What one run did: records anonymised, and closed records still frozen, per kind."""

    anonymised: dict[str, int]
    frozen: dict[str, int]


def add_years(at: dt.datetime, years: int) -> dt.datetime:
    """``at`` plus whole calendar years (29 February → 28 February)."""
    try:
        return at.replace(year=at.year + years)
    except ValueError:
        return at.replace(year=at.year + years, day=28)


def _expired(catalog: ProductCatalog, product_id: str, closed_at: dt.datetime, now: dt.datetime) -> bool:
    try:
        years = int(catalog.get(product_id).service_standards.records_retention_years)
    except NotFound:
        log.warning("retention: unknown product %s; record kept", product_id[:64])
        return False
    return add_years(closed_at, years) <= now


def _register(session: Session, *, object_type: str, object_id: int, closed_at: dt.datetime,
              now: dt.datetime) -> None:
    session.add(Anonymisation(object_type=object_type, object_id=object_id, closed_at=closed_at, at=now,
                              actor=ACTOR))
    record_event(session, actor=ACTOR, action="anonymise", object_type=object_type, object_id=object_id,
                 purpose="保存期满，删除个人信息", at=now)


def _anonymise_claim(session: Session, claim: Claim, cipher: FieldCipher, now: dt.datetime) -> None:
    claim.insured_name_enc = None
    claim.insured_name_masked = ANON_NAME
    claim.insured_id_enc = claim.insured_id_bidx = None
    claim.reporter_phone_enc = claim.reporter_phone_bidx = None
    claim.reporter_openid = None
    claim.roster_person_id = None
    claim.bank_account_enc = claim.bank_holder_name_enc = claim.beneficiary_name_enc = None
    for field in ("place", "hospital", "complex_reason"):
        set_free_text(claim, field, None, cipher=cipher)
    set_free_text(claim, "description", ANON_TEXT, cipher=cipher)
    claim.idempotency_key = None  # derived from the openid in chat
    claim.anonymised_at = now
    customer_events = select(ClaimEvent).where(ClaimEvent.claim_id == claim.id,
                                               ClaimEvent.actor.like("customer:%"))
    for event in session.scalars(customer_events).all():
        event.actor = ANON_CUSTOMER
    for event in session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id)).all():
        event.reason_enc = None  # staff and customers type names and numbers into reasons
    for approval in session.scalars(select(ClaimApproval).where(ClaimApproval.claim_id == claim.id)).all():
        approval.over_reason_enc = None
    for att in session.scalars(select(ClaimAttachment).where(ClaimAttachment.claim_id == claim.id)).all():
        att.media_id = att.storage_key = None
    session.flush()
    session.add(ClaimEvent(claim_id=claim.id, claim_version=claim.version, at=now, actor=ACTOR,
                           kind="anonymised", reason_enc=_reason(ClaimEvent, cipher)))
    assert claim.closed_at is not None
    _register(session, object_type="claim", object_id=claim.id, closed_at=claim.closed_at, now=now)


def _reason(event: type[ClaimEvent | ComplaintEvent], cipher: FieldCipher) -> str | None:
    """The anonymisation event's reason, encrypted like every history reason."""
    return seal(ANON_EVENT_REASON, cipher=cipher, purpose=event.FREE_TEXT["reason"][1])


def _anonymise_complaint(session: Session, c: Complaint, cipher: FieldCipher, now: dt.datetime) -> None:
    c.complainant_name_enc = None
    c.complainant_name_masked = ANON_NAME
    c.contact_phone_enc = cipher.encrypt("", purpose=PURPOSE_COMPLAINT_PHONE)  # the column is NOT NULL
    c.contact_phone_bidx = ""
    c.openid = None
    set_free_text(c, "content", ANON_TEXT, cipher=cipher)
    set_free_text(c, "response", None, cipher=cipher)
    set_free_text(c, "followup_result", None, cipher=cipher)
    for event in session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id)).all():
        event.reason_enc = None
    session.flush()
    session.add(ComplaintEvent(complaint_id=c.id, complaint_version=c.version, at=now, actor=ACTOR,
                               kind="anonymised", reason_enc=_reason(ComplaintEvent, cipher)))
    assert c.closed_at is not None
    _register(session, object_type="complaint", object_id=c.id, closed_at=c.closed_at, now=now)


def _anonymise_visit(session: Session, hv: HomeVisit, closed_at: dt.datetime, cipher: FieldCipher,
                     now: dt.datetime) -> None:
    hv.name_enc = None
    hv.name_masked = ANON_NAME
    hv.phone_enc = cipher.encrypt("", purpose=PURPOSE_VISIT_PHONE)
    hv.phone_bidx = ""
    hv.address_enc = cipher.encrypt("", purpose=PURPOSE_VISIT_ADDRESS)
    hv.openid = None
    set_free_text(hv, "purpose", ANON_TEXT, cipher=cipher)
    set_free_text(hv, "note", None, cipher=cipher)
    session.flush()
    _register(session, object_type="home_visit", object_id=hv.id, closed_at=closed_at, now=now)


def _done(session: Session, object_type: str) -> set[int]:
    rows = session.scalars(select(Anonymisation.object_id).where(Anonymisation.object_type == object_type))
    return set(rows)


def apply_retention(session: Session, *, cipher: FieldCipher, catalog: ProductCatalog, now: dt.datetime,
                    limit: int = 500) -> RetentionResult:
    """Anonymise closed records past the retention period (at most ``limit`` per kind); idempotent."""
    result = RetentionResult(anonymised={"claim": 0, "complaint": 0, "home_visit": 0},
                             frozen={"claim": 0, "complaint": 0, "home_visit": 0})
    claims = session.scalars(select(Claim).where(Claim.closed_at.is_not(None), Claim.closed_at <= now,
                                                 Claim.anonymised_at.is_(None)).order_by(Claim.closed_at)).all()
    for claim in claims:
        assert claim.closed_at is not None
        if result.anonymised["claim"] < limit and _expired(catalog, claim.product_id, claim.closed_at, now):
            _anonymise_claim(session, claim, cipher, now)
            result.anonymised["claim"] += 1
        else:
            result.frozen["claim"] += 1
    done = _done(session, "complaint")
    closed = select(Complaint).where(Complaint.closed_at.is_not(None), Complaint.closed_at <= now)
    complaints = session.scalars(closed.order_by(Complaint.id)).all()
    for c in complaints:
        if c.id in done:
            continue
        assert c.closed_at is not None
        if result.anonymised["complaint"] < limit and _expired(catalog, c.product_id, c.closed_at, now):
            _anonymise_complaint(session, c, cipher, now)
            result.anonymised["complaint"] += 1
        else:
            result.frozen["complaint"] += 1
    done = _done(session, "home_visit")
    visits = select(HomeVisit).where(HomeVisit.visited_at.is_not(None) | HomeVisit.cancelled_at.is_not(None))
    for hv in session.scalars(visits.order_by(HomeVisit.id)).all():
        closed_at = hv.visited_at or hv.cancelled_at
        if hv.id in done or closed_at is None or closed_at > now:
            continue
        if result.anonymised["home_visit"] < limit and _expired(catalog, hv.product_id, closed_at, now):
            _anonymise_visit(session, hv, closed_at, cipher, now)
            result.anonymised["home_visit"] += 1
        else:
            result.frozen["home_visit"] += 1
    session.flush()
    return result
