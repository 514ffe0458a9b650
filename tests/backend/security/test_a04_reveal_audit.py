"""A-03/A-04 over the staff API: names are revealed from their ciphertexts, and every reveal attempt,
refused ones included, leaves an audit record although the refused request fails (and rolls back)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.audit.service import verify_chain
from backend.claims import service as claims
from backend.complaints import home_visits
from backend.complaints import service as complaints
from backend.runtime import Runtime
from tests.backend.claims.support import NOW, calendar, report_kwargs


def _records(db: Session, actor: str) -> list[AuditRecord]:
    db.expire_all()
    q = select(AuditRecord).where(AuditRecord.action == "reveal", AuditRecord.actor == actor)
    return list(db.scalars(q.order_by(AuditRecord.seq)))


def test_a03_names_revealed_from_ciphertext(client: TestClient, db: Session, runtime: Runtime,
                                            officer: dict[str, str]) -> None:
    cipher, catalog = runtime.cipher, runtime.catalog
    claim = claims.report_claim(db, cipher=cipher, catalog=catalog, calendar=calendar(),
                                **report_kwargs(insured_name="欧阳秀英"))
    claims.set_bank_account(db, cipher=cipher, claim_id=claim.id, bank_account="6222021234567890",
                            holder_name="李建国", beneficiary_name="李建国", actor="staff:1", now=NOW)
    c = complaints.file_complaint(db, cipher=cipher, catalog=catalog, calendar=calendar(),
                                  category="other", severity="normal", channel="phone",
                                  complainant_name="黄志强", contact_phone="13800138123", content="态度不好",
                                  actor="staff:1", now=NOW)
    v = home_visits.request_home_visit(db, cipher=cipher, catalog=catalog, name="郑美玲", phone="15812349876",
                                       address="峡山街道广场路12号", purpose="交材料", channel="phone",
                                       actor="staff:1", now=NOW)
    db.flush()
    shown = client.get(f"/staff/api/claims/{claim.id}", headers=officer)
    assert shown.status_code == 200 and shown.json()["insured_name"] == "欧**英"
    assert "欧阳秀英" not in shown.text
    for object_type, object_id, field, expected in (
        ("claim", claim.id, "insured_name", "欧阳秀英"),
        ("claim", claim.id, "bank_holder_name", "李建国"),
        ("claim", claim.id, "beneficiary_name", "李建国"),
        ("complaint", c.id, "complainant_name", "黄志强"),
        ("home_visit", v.id, "name", "郑美玲"),
    ):
        r = client.post("/staff/api/reveal", headers=officer, json={
            "object_type": object_type, "object_id": object_id, "field": field, "reason": "电话回访核对姓名"})
        assert r.status_code == 200 and r.json()["value"] == expected, r.text
    assert [rec.result for rec in _records(db, officer["X-User"])] == ["ok"] * 5


def test_a04_refused_reveals_are_audited_and_committed(client: TestClient, db: Session, runtime: Runtime,
                                                       officer: dict[str, str]) -> None:
    claim = claims.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                **report_kwargs())
    db.flush()
    base = {"object_type": "claim", "object_id": claim.id, "field": "insured_id_number"}
    attempts = [
        (dict(base, reason="看"), 422, "reason_required"),
        (dict(base, field="password", reason="核对理赔申请"), 422, "not_revealable"),
        (dict(base, object_id=claim.id + 10_000, reason="核对理赔申请"), 404, "not_found"),
    ]
    for body, status, code in attempts:
        r = client.post("/staff/api/reveal", json=body, headers=officer)
        assert r.status_code == status and r.json()["error"]["code"] == code, r.text
        assert "value" not in r.json()
    # a ciphertext that no longer decrypts (e.g. made with a retired key): refused with 500, audited
    claim.insured_id_enc = "v1.retired." + claim.insured_id_enc.split(".", 2)[2]  # type: ignore[union-attr]
    db.flush()
    r = client.post("/staff/api/reveal", json=dict(base, reason="核对理赔申请"), headers=officer)
    assert r.status_code == 500 and r.json()["error"]["code"] == "cannot_decrypt"

    records = _records(db, officer["X-User"])
    assert [rec.result for rec in records] == ["refused: reason_required", "refused: not_revealable",
                                               "refused: not_found", "refused: cannot_decrypt"]
    assert [rec.field for rec in records] == ["insured_id_number", "password", "insured_id_number",
                                              "insured_id_number"]
    assert records[2].object_id == str(claim.id + 10_000) and records[0].purpose == "看"
    assert all(rec.ip for rec in records)
    assert verify_chain(db).ok  # the refusals are links of the hash chain like any record
