"""D-01 / C-01: free text (an accident's description, place and hospital, complaint texts, history reasons,
a home visit's purpose and note) is encrypted at rest: a phone number, an ID number and a hospital name
typed into it appear in no table. Staff see it with the numbers masked; reveal gives the clear text,
audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.claims import service as claims
from backend.claims.models import PURPOSE_DESCRIPTION, PURPOSE_HOSPITAL
from backend.complaints import home_visits
from backend.complaints import service as complaints
from backend.errors import ServiceError
from backend.privacy.freetext import free_text
from backend.products.service import ProductCatalog
from backend.runtime import Runtime
from backend.security.crypto import CryptoError, FieldCipher
from tests.backend.claims.support import NOW, calendar, make_id, report_kwargs
from tests.backend.security.test_d01_names_encrypted import dump_database

PHONE = "13712348765"
ID_NUMBER = make_id("44051419480808555")
HOSPITAL = "潮南民生医院"
PLACE = "陈店镇文光路菜市场"
SECRET = f"女儿电话{PHONE}，身份证{ID_NUMBER}，在{HOSPITAL}骨科住院"
MASKED_PHONE, MASKED_ID = "137****8765", "4405**********555X"


def file_everything(db: Session, cipher: FieldCipher, catalog: ProductCatalog) -> dict[str, int]:
    """A claim, a complaint and a home visit whose every free-text field holds the secret."""
    claim = claims.report_claim(db, cipher=cipher, catalog=catalog, calendar=calendar(), **report_kwargs(
        description=SECRET, place=PLACE, hospital=HOSPITAL))
    claims.set_complex(db, cipher=cipher, calendar=calendar(), claim_id=claim.id, complex=True,
                       actor="staff:1", reason=SECRET, now=NOW)
    claims.transition_claim(db, cipher=cipher, calendar=calendar(), claim_id=claim.id,
                            to_state="materials_pending", actor="staff:1", reason=SECRET, now=NOW)
    c = complaints.file_complaint(db, cipher=cipher, catalog=catalog, calendar=calendar(), category="other",
                                  severity="normal", channel="phone", complainant_name="黄志强",
                                  contact_phone="13800138123", content=SECRET, actor="staff:1", now=NOW)
    complaints.acknowledge_complaint(db, cipher=cipher, complaint_id=c.id, actor="staff:1", note=SECRET,
                                     now=NOW)
    for state in ("investigating", "responded", "closed"):
        complaints.transition_complaint(db, cipher=cipher, complaint_id=c.id, to_state=state, actor="staff:1",
                                        reason=SECRET, response=SECRET, now=NOW)
    complaints.record_followup(db, cipher=cipher, complaint_id=c.id, actor="staff:1", result=SECRET, now=NOW)
    v = home_visits.request_home_visit(db, cipher=cipher, catalog=catalog, name="郑美玲", phone="15812349876",
                                       address="峡山街道广场路12号", purpose=SECRET, channel="phone",
                                       actor="staff:1", now=NOW)
    home_visits.mark_contacted(db, cipher=cipher, visit_id=v.id, actor="staff:1", note=SECRET, now=NOW)
    db.flush()
    return {"claim": claim.id, "complaint": c.id, "home_visit": v.id}


def test_d01_free_text_with_phone_id_and_hospital_is_in_no_table(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    ids = file_everything(db, cipher, catalog)
    dump = dump_database(db)
    for value in (PHONE, PHONE[-8:], ID_NUMBER, ID_NUMBER[-8:], HOSPITAL, "民生医院", PLACE, "骨科住院"):
        assert value not in dump, f"clear value found: {value[:2]}…"

    # every field reads back through the services, whole
    claim = claims.get_claim(db, claim_id=ids["claim"])
    assert [claims.claim_text(claim, f, cipher=cipher) for f in ("description", "place", "hospital",
                                                                  "complex_reason")] == [
        SECRET, PLACE, HOSPITAL, SECRET]
    reasons = [free_text(e, "reason", cipher=cipher) for e in claims.claim_history(db, claim_id=claim.id)]
    assert reasons.count(SECRET) == 2  # complex flag and transition
    c = complaints.get_complaint(db, complaint_id=ids["complaint"])
    assert {complaints.complaint_text(c, f, cipher=cipher)
            for f in ("content", "response", "followup_result")} == {SECRET}
    history = complaints.complaint_history(db, complaint_id=c.id)
    assert [free_text(e, "reason", cipher=cipher) for e in history].count(SECRET) == 5
    visit = home_visits.get_home_visit(db, visit_id=ids["home_visit"])
    assert {home_visits.visit_text(visit, f, cipher=cipher) for f in ("purpose", "note")} == {SECRET}

    # bound to its column: a description copied into the hospital column does not decrypt
    assert cipher.decrypt(claim.description_enc, purpose=PURPOSE_DESCRIPTION) == SECRET
    claim.hospital_enc = claim.description_enc
    with pytest.raises(CryptoError):
        claims.claim_text(claim, "hospital", cipher=cipher)
    with pytest.raises(CryptoError):
        cipher.decrypt(claim.description_enc, purpose=PURPOSE_HOSPITAL)


def test_d01_free_text_rejected_in_clear_before_encryption(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    """Validation still sees the clear text: a blank or too long description is refused."""
    for bad in ("   ", "长" * 2001):
        with pytest.raises(ServiceError) as exc:
            claims.report_claim(db, cipher=cipher, catalog=catalog, calendar=calendar(),
                                **report_kwargs(description=bad))
        assert exc.value.code == "invalid_input" and exc.value.detail["field"] == "description"


def test_d01_staff_see_free_text_masked_and_reveal_it_audited(
    client: TestClient, db: Session, runtime: Runtime, officer: dict[str, str]
) -> None:
    ids = file_everything(db, runtime.cipher, runtime.catalog)
    masked = SECRET.replace(PHONE, MASKED_PHONE).replace(ID_NUMBER, MASKED_ID)

    claim = client.get(f"/staff/api/claims/{ids['claim']}", headers=officer)
    complaint = client.get(f"/staff/api/complaints/{ids['complaint']}", headers=officer)
    visits = client.get("/staff/api/home-visits", headers=officer)
    for r in (claim, complaint, visits):
        assert r.status_code == 200, r.text
        assert PHONE not in r.text and ID_NUMBER not in r.text and ID_NUMBER[-8:] not in r.text
    body = claim.json()
    assert (body["description"], body["complex_reason"], body["hospital"], body["place"]) == (
        masked, masked, HOSPITAL, PLACE)
    assert [e["reason"] for e in body["history"]].count(masked) == 2
    cbody = complaint.json()
    assert cbody["content"] == cbody["response"] == cbody["followup_result"] == masked
    [vbody] = [v for v in visits.json()["items"] if v["id"] == ids["home_visit"]]
    assert vbody["purpose"] == vbody["note"] == masked

    event_id = next(e["id"] for e in body["history"] if e["kind"] == "transition")
    for object_type, object_id, field in (
        ("claim", ids["claim"], "description"), ("claim", ids["claim"], "complex_reason"),
        ("claim_event", event_id, "reason"), ("complaint", ids["complaint"], "content"),
        ("complaint", ids["complaint"], "followup_result"), ("home_visit", ids["home_visit"], "purpose"),
        ("home_visit", ids["home_visit"], "note"),
    ):
        req = {"object_type": object_type, "object_id": object_id, "field": field,
               "reason": "核对伤情与联系电话"}
        r = client.post("/staff/api/reveal", headers=officer, json=req)
        assert r.status_code == 200 and r.json()["value"] == SECRET, (object_type, field, r.text)
    r = client.post("/staff/api/reveal", headers=officer, json={
        "object_type": "claim", "object_id": ids["claim"], "field": "hospital", "reason": "核对就诊医院"})
    assert r.status_code == 200 and r.json()["value"] == HOSPITAL

    db.expire_all()
    q = select(AuditRecord).where(AuditRecord.action == "reveal", AuditRecord.actor == officer["X-User"])
    records = list(db.scalars(q.order_by(AuditRecord.seq)))
    assert [(r.object_type, r.field, r.result) for r in records][:2] == [
        ("claim", "description", "ok"), ("claim", "complex_reason", "ok")]
    assert len(records) == 8 and {r.result for r in records} == {"ok"}
    assert records[-1].purpose == "核对就诊医院" and records[2].object_id == str(event_id)
