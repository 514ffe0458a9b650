"""Staff API over claims (materials, complex flag) (A-02 roles, A-03 masking, A-04 reads).

Every test logs in for real (password + TOTP) through ``/staff/api/auth/login``; every private value
must be absent from every response body; every read leaves an audit record with the object's id.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.runtime import Runtime
from tests.backend.claims.support import CARD, events, new_claim
from tests.backend.staff.helpers import CLAIM_WRITERS, ROLES, Clock, Staff, assert_error, assert_ok, reads


def test_a02_claim_material_mark_received(client: TestClient, db: Session, runtime: Runtime,
                                          staff: Staff) -> None:
    claim = new_claim(db, runtime)
    url = f"/staff/api/claims/{claim.id}/materials/insured_id"
    assert_error(client.post(url, json={"received": True}), 401, "not_logged_in")
    for role in set(ROLES) - CLAIM_WRITERS:
        assert_error(client.post(url, json={"received": True}, headers=staff(role)), 403, "forbidden")
    assert "material" not in " ".join(events(db, claim.id))  # nothing changed by the refused calls
    before = len(reads(db, "claim", claim.id))
    body = assert_ok(client.post(url, json={"received": True}, headers=staff("claims_officer")))
    item = next(m for m in body["materials"] if m["material_id"] == "insured_id")
    assert item["received"] is True and item["marked_by"] == staff.username("claims_officer")
    assert body["insured_id_number"].count("*") == 10 and body["reporter_phone"] == "139****5678"
    assert body["bank_account"] == CARD[:4] + "*" * (len(CARD) - 8) + CARD[-4:]
    assert len(reads(db, "claim", claim.id, "after_material")) == 1
    assert len(reads(db, "claim", claim.id)) == before + 1
    for role in ("supervisor", "admin"):  # the other writers may mark too (received ↔ missing)
        r = client.post(url, json={"received": role == "admin"}, headers=staff(role))
        assert assert_ok(r)["id"] == claim.id
    officer = staff("claims_officer")
    assert_error(client.post(f"/staff/api/claims/{claim.id}/materials/no_such_paper", json={"received": True},
                             headers=officer), 404, "unknown_material")
    assert_error(client.post("/staff/api/claims/987654/materials/insured_id", json={"received": True},
                             headers=officer), 404, "claim_not_found")
    assert_error(client.post(url, json={"received": "maybe"}, headers=officer), 422, "invalid_request")
    assert_error(client.post(url, json={}, headers=officer), 422, "invalid_request")


def test_a02_claim_material_frozen_after_withdrawal(client: TestClient, db: Session, runtime: Runtime,
                                                    staff: Staff) -> None:
    claim = new_claim(db, runtime)
    officer = staff("claims_officer")
    r = client.post(f"/staff/api/claims/{claim.id}/transition", headers=officer,
                    json={"to_state": "withdrawn", "reason": "客户撤案", "expected_version": claim.version})
    assert assert_ok(r)["state"] == "withdrawn"
    kinds = events(db, claim.id)
    r = client.post(f"/staff/api/claims/{claim.id}/materials/insured_id", json={"received": True},
                    headers=officer)
    assert_error(r, 409, "record_frozen")
    assert events(db, claim.id) == kinds


def test_a02_claim_complex_flag(client: TestClient, db: Session, runtime: Runtime, staff: Staff) -> None:
    claim = new_claim(db, runtime)
    url = f"/staff/api/claims/{claim.id}/complex"
    version = claim.version
    body = {"complex": True, "reason": "需要调查事故经过", "expected_version": version}
    for role in set(ROLES) - CLAIM_WRITERS:
        assert_error(client.post(url, json=body, headers=staff(role)), 403, "forbidden")
    officer = staff("claims_officer")
    assert_error(client.post(url, json=dict(body, expected_version=claim.version + 5), headers=officer),
                 409, "version_conflict")
    assert_error(client.post(url, json=dict(body, reason="  "), headers=officer), 400, "invalid_input")
    assert "complex_set" not in events(db, claim.id)
    out = assert_ok(client.post(url, json=body, headers=officer))
    assert out["is_complex"] is True and out["complex_reason"] == "需要调查事故经过"
    assert out["version"] == version + 1 and out["history"][-1]["kind"] == "complex_set"
    assert reads(db, "claim", claim.id, "after_complex")
    assert_error(client.post(url, json=body, headers=officer), 409, "version_conflict")  # stale now
    unset = {"complex": False, "reason": "调查完毕", "expected_version": out["version"]}
    assert assert_ok(client.post(url, json=unset, headers=staff("supervisor")))["is_complex"] is False
    assert_error(client.post("/staff/api/claims/987654/complex", json=body, headers=officer),
                 404, "claim_not_found")


def test_a04_reads_audited_with_actor_and_time(client: TestClient, db: Session, runtime: Runtime,
                                               staff: Staff, clock: Clock) -> None:
    claim = new_claim(db, runtime)
    agent = staff("agent")
    assert_ok(client.get(f"/staff/api/claims/{claim.id}", headers=agent))
    (rec,) = reads(db, "claim", claim.id, "view")
    assert rec.actor == staff.username("agent") and rec.result == "ok"
    assert rec.at == clock.now and rec.ip == "testclient"
