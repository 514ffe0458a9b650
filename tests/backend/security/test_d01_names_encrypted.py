"""D-01: after a claim (with its bank account), a complaint and a home visit are filed, no table holds a
clear name, ID number, phone number, bank account or address: names are encrypted plus a masked copy."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims import service as claims
from backend.claims.models import PURPOSE_INSURED_NAME
from backend.complaints import home_visits
from backend.complaints import service as complaints
from backend.complaints.models import PURPOSE_COMPLAINANT_NAME, PURPOSE_VISIT_NAME
from backend.model_registry import metadata
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from tests.backend.claims.support import NOW, calendar, make_id, report_kwargs

INSURED, BENEFICIARY, COMPLAINANT, VISITOR = "欧阳秀英", "李建国", "黄志强", "郑美玲"
ID_NUMBER = make_id("44051419480808555")
PHONES = ("13912345678", "13800138123", "15812349876")
CARD = "6222021234567890"
ADDRESS = "潮南区峡山街道广场路12号"


def dump_database(db: Session) -> str:
    """Every row of every table as text (like grepping a dump)."""
    rows = (row for table in metadata.sorted_tables for row in db.execute(select(table)))
    return "\n".join(repr(tuple(row)) for row in rows)


def test_d01_claim_complaint_and_home_visit_store_no_clear_private_value(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    claim = claims.report_claim(db, cipher=cipher, catalog=catalog, calendar=calendar(), **report_kwargs(
        insured_name=INSURED, insured_id_number=ID_NUMBER, reporter_phone=PHONES[0]))
    claims.set_bank_account(db, cipher=cipher, claim_id=claim.id, bank_account=CARD, holder_name=INSURED,
                            beneficiary_name=BENEFICIARY, actor="staff:1", now=NOW)
    complaint = complaints.file_complaint(
        db, cipher=cipher, catalog=catalog, calendar=calendar(), category="claim_speed", severity="normal",
        channel="phone", complainant_name=COMPLAINANT, contact_phone=PHONES[1], content="理赔太慢",
        related_case_no=claim.case_no, actor="staff:1", now=NOW)
    visit = home_visits.request_home_visit(
        db, cipher=cipher, catalog=catalog, name=VISITOR, phone=PHONES[2], address=ADDRESS,
        purpose="交材料", channel="phone", actor="staff:1", now=NOW)
    db.flush()

    dump = dump_database(db)
    # the dump does read these rows: the masked names and case numbers are there
    for masked in ("欧**英", "黄*强", "郑*玲", claim.case_no, complaint.complaint_no, visit.visit_no):
        assert masked in dump
    assert claim.bank_name_mismatch is False  # the holder check still sees the (decrypted) name
    for value in (INSURED, BENEFICIARY, COMPLAINANT, VISITOR, ID_NUMBER, ID_NUMBER[-8:], *PHONES,
                  *(p[-8:] for p in PHONES), CARD, CARD[-8:], ADDRESS, "峡山街道"):
        assert value not in dump, f"clear value found: {value[:2]}…"

    # each name decrypts with its own purpose (and only with it)
    assert cipher.decrypt(claim.insured_name_enc or "", purpose=PURPOSE_INSURED_NAME) == INSURED
    token = complaint.complainant_name_enc or ""
    assert cipher.decrypt(token, purpose=PURPOSE_COMPLAINANT_NAME) == COMPLAINANT
    assert cipher.decrypt(visit.name_enc or "", purpose=PURPOSE_VISIT_NAME) == VISITOR
    assert claims.insured_name_of(claim, cipher=cipher) == INSURED
    # lists show only the masked copy
    assert (claim.insured_name_masked, complaint.complainant_name_masked, visit.name_masked) == (
        "欧**英", "黄*强", "郑*玲")


def test_d01_name_copied_to_another_column_does_not_decrypt(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    claim = claims.report_claim(db, cipher=cipher, catalog=catalog, calendar=calendar(),
                                **report_kwargs(insured_name=INSURED))
    claim.insured_name_enc = cipher.encrypt(INSURED, purpose=PURPOSE_COMPLAINANT_NAME)  # wrong purpose
    assert claims.insured_name_of(claim, cipher=cipher) is None  # refused, not a wrong name
