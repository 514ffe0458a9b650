"""D-04 separate consent: per category, versioned, withdrawable; claims stop when it is withdrawn."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.claims import service as svc
from backend.claims.attachments import attach_media
from backend.claims.models import PURPOSE_INSURED_ID, Claim, ClaimEvent
from backend.errors import Forbidden, ServiceError
from backend.privacy import service as privacy
from backend.privacy.models import ConsentEvent
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from tests.backend.claims.support import NOW, calendar, make_id, report_kwargs


def unique_id() -> str:
    """A valid ID number no other test uses (committed rows of other tests must not match)."""
    r = random.Random(uuid.uuid4().int)
    return make_id(f"440514{r.randint(1930, 1965)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}"
                   f"{r.randint(0, 999):03d}")


@pytest.fixture(autouse=True)
def subject() -> None:
    """A fresh WeChat user and insured person per test."""
    global OPENID, ID
    OPENID, ID = f"o-{uuid.uuid4().hex[:16]}", unique_id()


OPENID = ""
ID = ""


def grant(db: Session, category: str, *, at: dt.datetime = NOW) -> ConsentEvent:
    return privacy.record_consent(db, category=category, channel="official_account", user_id=OPENID,
                                  actor="customer", now=at)


def report(db: Session, cipher: FieldCipher, catalog: ProductCatalog, **kw: object) -> Claim:
    wechat = {"channel": "official_account", "actor": "bot:official_account", "reporter_openid": OPENID,
              "insured_id_number": ID}
    return svc.report_claim(db, cipher=cipher, catalog=catalog, calendar=calendar(),
                            **report_kwargs(**{**wechat, **kw}))


def test_d04_customer_report_without_consent_is_refused_and_nothing_stored(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    with pytest.raises(Forbidden) as exc:
        report(db, cipher, catalog)
    assert exc.value.code == "consent_required" and exc.value.detail == {"category": "id_number"}
    assert "身份证" in exc.value.message
    assert db.scalar(select(func.count()).select_from(Claim).where(Claim.reporter_openid == OPENID)) == 0
    grant(db, "id_number")
    claim = report(db, cipher, catalog)
    assert claim.reporter_openid == OPENID and claim.state == "reported"


def test_d04_withdraw_blocks_the_next_claim_step_and_regrant_allows_it(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    for category in ("id_number", "medical", "bank_account"):
        grant(db, category)
    claim = report(db, cipher, catalog)
    later = NOW + dt.timedelta(hours=1)
    for category in ("medical", "bank_account"):
        privacy.withdraw_consent(db, category=category, channel="official_account", user_id=OPENID,
                                 actor="customer", now=later)
    # medical records: blocked, the checklist item stays missing, no history written
    history = select(func.count()).select_from(ClaimEvent).where(ClaimEvent.claim_id == claim.id)
    events_before = db.scalar(history)
    with pytest.raises(Forbidden) as exc:
        svc.mark_material(db, cipher=cipher, claim_id=claim.id, material_id="medical_record", received=True,
                          actor="staff:1", now=later, calendar=calendar())
    assert exc.value.detail == {"category": "medical"}
    assert not next(m for m in claim.materials if m.material_id == "medical_record").received
    with pytest.raises(Forbidden):
        attach_media(db, cipher=cipher,
                     claim_id=claim.id, channel="official_account", media_id="M-1", actor="bot:x",
                     now=later)
    # bank account: blocked, nothing stored
    with pytest.raises(Forbidden) as exc:
        svc.set_bank_account(db, cipher=cipher, claim_id=claim.id, bank_account="6222021234567890",
                             holder_name="陈阿婆", actor="staff:1", now=later)
    assert exc.value.detail == {"category": "bank_account"}
    assert claim.bank_account_enc is None
    assert db.scalar(history) == events_before
    # a non-medical item is not medical data: still allowed
    svc.mark_material(db, cipher=cipher,
                      claim_id=claim.id, material_id="insured_id", received=True, actor="staff:1",
                      now=later, calendar=calendar())
    # re-granted: allowed again
    grant(db, "medical", at=later + dt.timedelta(minutes=5))
    grant(db, "bank_account", at=later + dt.timedelta(minutes=5))
    svc.mark_material(db, cipher=cipher,
                      claim_id=claim.id, material_id="medical_record", received=True, actor="staff:1",
                      now=later, calendar=calendar())
    svc.set_bank_account(db, cipher=cipher, claim_id=claim.id, bank_account="6222021234567890",
                         holder_name="陈阿婆", actor="staff:1", now=later)
    assert claim.bank_account_enc is not None


def test_d04_phone_withdrawal_for_the_insured_stops_a_wechat_claim(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    grant(db, "id_number")
    grant(db, "bank_account")
    claim = report(db, cipher, catalog)
    bidx = cipher.blind_index(ID, purpose=PURPOSE_INSURED_ID)
    privacy.withdraw_consent(db, category="bank_account", channel="phone", id_bidx=bidx, actor="staff:9",
                             now=NOW + dt.timedelta(hours=1))
    with pytest.raises(Forbidden):
        svc.set_bank_account(db, cipher=cipher, claim_id=claim.id, bank_account="6222021234567890",
                             holder_name="陈阿婆", actor="staff:1", now=NOW + dt.timedelta(hours=2))
    # history: at the time of the report the consent was there (time travel with ``at``)
    assert privacy.has_consent(db, category="bank_account", channel="official_account", user_id=OPENID,
                               id_bidx=bidx, at=NOW)
    assert not privacy.has_consent(db, category="bank_account", channel="official_account", user_id=OPENID,
                                   id_bidx=bidx)


def test_d04_phone_claim_records_the_consent_given_on_the_phone_with_the_staff_actor(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    claim = svc.report_claim(db, cipher=cipher, catalog=catalog, calendar=calendar(),
                             **report_kwargs(channel="phone", actor="staff:3", insured_id_number=ID))
    svc.set_bank_account(db, cipher=cipher, claim_id=claim.id, bank_account="6222021234567890",
                         holder_name="陈阿婆", actor="staff:4", now=NOW)
    rows = db.scalars(select(ConsentEvent).where(ConsentEvent.id_bidx == claim.insured_id_bidx)
                      .order_by(ConsentEvent.id)).all()
    texts = privacy.consent_config().texts
    assert [(r.category, r.granted, r.channel, r.actor, r.text_version) for r in rows] == [
        ("id_number", True, "phone", "staff:3", texts["id_number"].version),
        ("bank_account", True, "phone", "staff:4", texts["bank_account"].version),
    ]
    assert all(r.user_id is None for r in rows)
    # withdrawn on the phone: the staff cannot go on without recording a fresh consent
    privacy.withdraw_consent(db, category="medical", channel="phone", id_bidx=claim.insured_id_bidx,
                             actor="staff:5", now=NOW)
    with pytest.raises(Forbidden):
        svc.mark_material(db, cipher=cipher, claim_id=claim.id, material_id="itemised_bill", received=True,
                          actor="staff:4", now=NOW, calendar=calendar())
    privacy.record_consent(db, category="medical", channel="phone", id_bidx=claim.insured_id_bidx,
                           actor="staff:5", now=NOW + dt.timedelta(minutes=1))
    svc.mark_material(db, cipher=cipher,
                      claim_id=claim.id, material_id="itemised_bill", received=True, actor="staff:4",
                      now=NOW, calendar=calendar())


def test_d04_bad_consent_input_gets_a_clear_error(db: Session) -> None:
    with pytest.raises(ServiceError) as exc:
        privacy.record_consent(db, category="address", channel="official_account", user_id=OPENID, actor="c")
    assert exc.value.code == "invalid_consent_category"
    with pytest.raises(ServiceError) as exc:
        privacy.record_consent(db, category="medical", channel="official_account", actor="customer")
    assert exc.value.code == "consent_subject_required"
    assert not privacy.has_consent(db, category="medical")
    mine = select(func.count()).select_from(ConsentEvent).where(ConsentEvent.user_id == OPENID)
    assert db.scalar(mine) == 0
