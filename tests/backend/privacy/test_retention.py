"""D-05 retention: closed records are frozen (read-only), then anonymised after the period (time travel)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.calendar.service import WorkingCalendar
from backend.claims import service as svc
from backend.claims.attachments import attach_media
from backend.claims.models import Claim, ClaimAttachment
from backend.complaints import home_visits
from backend.complaints import service as complaints
from backend.complaints.models import Complaint
from backend.errors import Conflict
from backend.jobs.registry import discover
from backend.privacy.freetext import free_text
from backend.privacy.models import Anonymisation
from backend.privacy.retention import ANON_EVENT_REASON, ANON_TEXT, add_years, apply_retention
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from tests.backend.claims.support import NOW, approve, calendar, make_id, report_kwargs

ID = make_id()
PHONE = "13712340000"


def closed_claim(db: Session, cipher: FieldCipher, catalog: ProductCatalog, cal: WorkingCalendar) -> Claim:
    claim = svc.report_claim(db, cipher=cipher, catalog=catalog, calendar=cal,
                             **report_kwargs(insured_id_number=ID, place="峡山街道广场路",
                                             hospital="潮南民生医院",
                                             description=f"在家摔倒，右腿骨折，女儿电话{PHONE}"))
    svc.set_bank_account(db, cipher=cipher, claim_id=claim.id, bank_account="6222021234567890",
                         holder_name="陈阿婆", actor="staff:1", now=NOW)
    attach_media(db, cipher=cipher,
                 claim_id=claim.id, channel="official_account", media_id="MEDIA-R", actor="staff:1",
                 now=NOW)
    for m in claim.materials:
        svc.mark_material(db, cipher=cipher,
                          claim_id=claim.id, material_id=m.material_id, received=True, actor="staff:1",
                          now=NOW, calendar=cal)
    svc.set_complex(db, cipher=cipher, calendar=cal, claim_id=claim.id, complex=True, actor="staff:1",
                    reason=f"核实伤情，回电{PHONE}", now=NOW)
    # Above the 90 yuan the stay computes: with a reason (and the payment by another person, four-eyes).
    approve(db, cipher, catalog, claim.id, amount_fen=150_000, actor="staff:1",
            reason=f"审核，已电话{PHONE}确认")
    for state, actor in (("paid", "staff:2"), ("closed", "staff:1")):
        svc.transition_claim(db, cipher=cipher, calendar=cal, claim_id=claim.id, to_state=state, actor=actor,
                             reason=f"审核，已电话{PHONE}确认", now=NOW)
    assert claim.closed_at == NOW
    return claim


def closed_complaint(db: Session, cipher: FieldCipher, catalog: ProductCatalog,
                     cal: WorkingCalendar) -> Complaint:
    c = complaints.file_complaint(db, cipher=cipher, catalog=catalog, calendar=cal, category="claim_speed",
                                  severity="normal", channel="phone", complainant_name="王大明",
                                  contact_phone="13912345678", content="王大明说理赔太慢", actor="staff:1",
                                  now=NOW)
    for state, response in (("investigating", None), ("responded", "已加急"), ("closed", None)):
        complaints.transition_complaint(db, cipher=cipher, complaint_id=c.id, to_state=state, actor="staff:1",
                                        response=response, now=NOW)
    return c


def row_of(db: Session, table: str, object_id: int) -> dict[str, object]:
    return dict(db.execute(text(f"SELECT * FROM {table} WHERE id = :i"), {"i": object_id}).mappings().one())


def test_d05_closed_claim_is_frozen_read_only(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    cal = calendar()
    claim = closed_claim(db, cipher, catalog, cal)
    attempts: list[Callable[[], object]] = [
        lambda: svc.set_complex(db, cipher=cipher,
                                calendar=cal, claim_id=claim.id, complex=True, actor="staff:1",
                                reason="复杂"),
        lambda: svc.transition_claim(db, cipher=cipher,
                                     calendar=cal, claim_id=claim.id, to_state="under_review",
                                     actor="staff:1", reason="重开"),
        lambda: svc.mark_material(db, cipher=cipher,
                                  claim_id=claim.id, material_id="medical_record", received=False,
                                  actor="staff:1", calendar=cal),
        lambda: svc.set_bank_account(db, cipher=cipher, claim_id=claim.id, bank_account="6222021234567899",
                                     holder_name="陈阿婆", actor="staff:1"),
        lambda: attach_media(db, cipher=cipher,
                             claim_id=claim.id, channel="official_account", media_id="NEW", actor="x"),
    ]
    version = claim.version
    for attempt in attempts:
        with pytest.raises(Conflict) as exc:
            attempt()
        assert exc.value.code == "record_frozen" and "不能再修改" in exc.value.message
    assert claim.version == version and svc.get_claim(db, claim_id=claim.id).state == "closed"


def test_d05_retention_anonymises_after_the_period_keeps_statistics_and_is_idempotent(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    cal = calendar()
    claim = closed_claim(db, cipher, catalog, cal)
    complaint = closed_complaint(db, cipher, catalog, cal)
    still_open = svc.report_claim(db, cipher=cipher, catalog=catalog, calendar=cal, **report_kwargs())
    years = catalog.get().service_standards.records_retention_years

    # inside the retention period: kept (frozen), nothing removed
    before_end = add_years(NOW, years) - dt.timedelta(days=1)
    inside = apply_retention(db, cipher=cipher, catalog=catalog, now=before_end)
    # (other tests may have committed closed records too: only ours are counted on, at least)
    assert claim.anonymised_at is None and inside.frozen["claim"] >= 1 and inside.frozen["complaint"] >= 1
    assert claim.insured_id_enc is not None and claim.anonymised_at is None

    later = add_years(NOW, years) + dt.timedelta(days=1)
    done = apply_retention(db, cipher=cipher, catalog=catalog, now=later)
    assert done.anonymised["claim"] >= 1 and done.anonymised["complaint"] >= 1
    db.expire_all()
    row = row_of(db, "claims", claim.id)
    for column in ("insured_id_enc", "insured_id_bidx", "reporter_phone_enc", "reporter_phone_bidx",
                   "bank_account_enc", "bank_holder_name_enc", "beneficiary_name_enc", "insured_name_enc",
                   "reporter_openid", "place_enc", "hospital_enc", "complex_reason_enc"):
        assert row[column] is None, column
    assert row["insured_name_masked"] == "***"
    dump = " ".join(str(v) for v in row.values())
    for secret in (ID, "13800138000", "陈阿婆", "6222021234567890"):
        assert secret not in dump
    # free text (encrypted) is cleared too: the description says only "anonymised", no history reason is left
    assert svc.claim_text(claim, "description", cipher=cipher) == ANON_TEXT
    history = svc.claim_history(db, claim_id=claim.id)
    assert len(history) > 5 and all(e.reason_enc is None for e in history[:-1])
    assert free_text(history[-1], "reason", cipher=cipher) == ANON_EVENT_REASON
    # statistics stay: case number, type, state, amounts, dates
    assert row["case_no"] == claim.case_no and row["claim_type"] == "hospital_allowance"
    assert row["state"] == "closed" and row["approved_amount_fen"] == 150_000
    assert claim.accident_date == report_kwargs()["accident_date"] and claim.anonymised_at == later
    assert svc.claim_history(db, claim_id=claim.id)[-1].kind == "anonymised"
    [attachment] = db.scalars(select(ClaimAttachment).where(ClaimAttachment.claim_id == claim.id))
    assert attachment.media_id is None and attachment.content_type == "image/jpeg"
    crow = row_of(db, "complaints", complaint.id)
    cdump = " ".join(str(v) for v in crow.values())
    assert "王大明" not in cdump and "13912345678" not in cdump and crow["openid"] is None
    assert crow["complaint_no"] == complaint.complaint_no and crow["state"] == "closed"
    assert crow["contact_phone_bidx"] == ""
    assert crow["complainant_name_enc"] is None and crow["complainant_name_masked"] == "***"
    assert crow["response_enc"] is None and crow["followup_result_enc"] is None
    assert complaints.complaint_text(complaint, "content", cipher=cipher) == ANON_TEXT
    chistory = complaints.complaint_history(db, complaint_id=complaint.id)
    assert all(e.reason_enc is None for e in chistory[:-1]) and chistory[-1].kind == "anonymised"
    # the open claim is untouched
    assert still_open.insured_id_enc is not None and still_open.anonymised_at is None
    audits = db.scalars(select(AuditRecord).where(AuditRecord.action == "anonymise")).all()
    assert {("claim", str(claim.id)), ("complaint", str(complaint.id))} <= {(a.object_type, a.object_id)
                                                                           for a in audits}

    # idempotent: running again (now or a year later) changes nothing
    before = (row_of(db, "claims", claim.id), row_of(db, "complaints", complaint.id))
    again = apply_retention(db, cipher=cipher, catalog=catalog, now=later + dt.timedelta(days=365))
    assert again.anonymised == {"claim": 0, "complaint": 0, "home_visit": 0}
    db.expire_all()
    assert (row_of(db, "claims", claim.id), row_of(db, "complaints", complaint.id)) == before
    ours = {("claim", claim.id), ("complaint", complaint.id)}
    registered = {(a.object_type, a.object_id) for a in db.scalars(select(Anonymisation))}
    assert ours <= registered


def test_d05_retention_job_is_registered_daily() -> None:
    [job] = [j for j in discover().periodic if j.name == "privacy.retention"]
    assert job.interval_s == 24 * 3600


def test_d05_add_years_handles_29_february() -> None:
    leap = dt.datetime(2028, 2, 29, 12, tzinfo=dt.UTC)
    assert add_years(leap, 5) == dt.datetime(2033, 2, 28, 12, tzinfo=dt.UTC)


def test_d05_home_visit_anonymised_removes_the_encrypted_name(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    visit = home_visits.request_home_visit(db, cipher=cipher, catalog=catalog, name="郑美玲",
                                           phone="15812349876", address="潮南区峡山街道广场路12号",
                                           purpose="交材料", channel="phone", actor="staff:1", now=NOW)
    assert visit.name_masked == "郑*玲" and visit.name_enc is not None
    home_visits.cancel_home_visit(db, cipher=cipher,
                                  visit_id=visit.id, actor="staff:1", reason="不需要了", now=NOW)
    years = catalog.get().service_standards.records_retention_years
    apply_retention(db, cipher=cipher, catalog=catalog, now=add_years(NOW, years) + dt.timedelta(days=1))
    db.expire_all()
    row = row_of(db, "home_visits", visit.id)
    assert row["name_enc"] is None and row["name_masked"] == "***"
    assert "郑美玲" not in " ".join(str(v) for v in row.values())
    assert row["note_enc"] is None and home_visits.visit_text(visit, "purpose", cipher=cipher) == ANON_TEXT
