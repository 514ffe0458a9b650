"""D-03 bank account checks (holder name flagged, 12–19 digits) and claim attachments (W-16)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from backend.claims import attachments as att
from backend.claims import service as svc
from backend.claims.models import (
    PURPOSE_BANK_ACCOUNT,
    PURPOSE_BANK_HOLDER_NAME,
    PURPOSE_BENEFICIARY_NAME,
    Claim,
)
from backend.errors import Conflict, NotFound, ServiceError
from backend.privacy.freetext import free_text
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from tests.backend.claims.support import NOW, calendar, report_kwargs

CARD = "6222021234567890"  # 16 digits


def claim(db: Session, cipher: FieldCipher, catalog: ProductCatalog) -> Claim:
    return svc.report_claim(db, cipher=cipher, catalog=catalog, calendar=calendar(), **report_kwargs())


def bank(db: Session, cipher: FieldCipher, c: Claim, number: str = CARD, **kw: str | None) -> Claim:
    return svc.set_bank_account(db, cipher=cipher, claim_id=c.id, bank_account=number, actor="staff:2",
                                now=NOW, **kw)


def flags(db: Session, c: Claim, cipher: FieldCipher) -> list[tuple[str, str | None]]:
    return [(e.kind, free_text(e, "reason", cipher=cipher)) for e in svc.claim_history(db, claim_id=c.id)
            if e.kind.startswith("flag")]


def test_d03_holder_not_insured_is_accepted_but_flagged_for_an_officer(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    c = claim(db, cipher, catalog)
    bank(db, cipher, c, holder_name="王大明")
    assert c.bank_name_mismatch is True and c.bank_holder_name_enc is not None
    assert cipher.decrypt(c.bank_holder_name_enc, purpose=PURPOSE_BANK_HOLDER_NAME) == "王大明"
    assert cipher.decrypt(c.bank_account_enc or "", purpose=PURPOSE_BANK_ACCOUNT) == CARD  # accepted
    [(kind, reason)] = flags(db, c, cipher)
    assert kind == "flag" and reason is not None and "bank_name_mismatch" in reason
    # the beneficiary (e.g. the heir in a death claim) is a valid holder: the flag clears
    bank(db, cipher, c, holder_name="王 大明", beneficiary_name="王大明")
    assert c.bank_name_mismatch is False and c.beneficiary_name_enc is not None
    assert cipher.decrypt(c.beneficiary_name_enc, purpose=PURPOSE_BENEFICIARY_NAME) == "王大明"
    assert [k for k, _ in flags(db, c, cipher)] == ["flag", "flag_cleared"]


def test_d03_insured_holder_is_not_flagged_and_missing_holder_is(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    c = claim(db, cipher, catalog)
    bank(db, cipher, c, holder_name="陈阿婆")
    assert c.bank_name_mismatch is False and flags(db, c, cipher) == []
    other = claim(db, cipher, catalog)
    bank(db, cipher, other)  # no holder name given: cannot be checked, so an officer looks
    assert other.bank_name_mismatch is True and "没有填写持卡人姓名" in (flags(db, other, cipher)[0][1] or "")


@pytest.mark.parametrize("number", ["6222 0212 3456", "6222-0212-3456-7890-123", "6222021234567891"])
def test_d03_account_number_12_to_19_digits_no_luhn_rejection(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog, number: str
) -> None:
    c = claim(db, cipher, catalog)
    bank(db, cipher, c, number, holder_name="陈阿婆")  # 6222021234567891 fails Luhn: still accepted
    assert c.bank_account_enc is not None


@pytest.mark.parametrize("number", ["62220212345", "62220212345678901234", "6222abc234567890", ""])
def test_d03_bad_account_number_clear_error_keeps_the_previous_one(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog, number: str
) -> None:
    c = claim(db, cipher, catalog)
    bank(db, cipher, c, holder_name="陈阿婆")
    stored = c.bank_account_enc
    with pytest.raises(ServiceError) as exc:
        bank(db, cipher, c, number, holder_name="陈阿婆")
    assert exc.value.code == "invalid_bank_account" and "12到19位" in exc.value.message
    assert exc.value.detail == {"field": "bank_account"}  # the input is not echoed
    assert c.bank_account_enc == stored


def test_w16_attachments_recorded_once_fetched_or_expired(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    c = claim(db, cipher, catalog)
    first = att.attach_media(db, cipher=cipher, claim_id=c.id, channel="official_account", media_id="MEDIA-A",
                             actor="staff:2", now=NOW)
    again = att.attach_media(db, cipher=cipher, claim_id=c.id, channel="official_account", media_id="MEDIA-A",
                             actor="staff:2", now=NOW)  # redelivered: one row
    second = att.attach_media(db, cipher=cipher,
                              claim_id=c.id, channel="official_account", media_id="MEDIA-B",
                              actor="staff:2", material_id="medical_record", now=NOW)
    upload = att.attach_media(db, cipher=cipher,
                              claim_id=c.id, channel="mini_program", storage_key="k/abc.jpg",
                              actor="staff:2", now=NOW)
    assert again.id == first.id
    assert [a.status for a in att.list_attachments(db, claim_id=c.id)] == ["pending_fetch", "pending_fetch",
                                                                           "stored"]
    assert [a.id for a in att.to_fetch(db)] == [first.id, second.id]
    att.mark_stored(db, attachment_id=first.id, storage_key="k/a.jpg", now=NOW)
    att.mark_expired(db, attachment_id=second.id, now=NOW)
    att.mark_expired(db, attachment_id=first.id, now=NOW)  # stored stays stored
    assert (first.status, second.status, upload.status) == ("stored", "expired", "stored")
    assert att.to_fetch(db) == []
    att.assign_material(db, attachment_id=first.id, material_id="hospitalisation_proof")
    assert first.material_id == "hospitalisation_proof"
    with pytest.raises(NotFound):
        att.assign_material(db, attachment_id=first.id, material_id="death_certificate")
    other = claim(db, cipher, catalog)
    with pytest.raises(Conflict):
        att.attach_media(db, cipher=cipher, claim_id=other.id, channel="official_account", media_id="MEDIA-A",
                         actor="staff:2", now=NOW)
    with pytest.raises(ServiceError):
        att.attach_media(db, cipher=cipher,
                         claim_id=c.id, channel="official_account", actor="staff:2", now=NOW)
    assert len(att.list_attachments(db, claim_id=c.id)) == 3
