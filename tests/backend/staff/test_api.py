"""Staff API: login, lockout, sessions, roles, masking and reveal (A-01…A-04)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.claims import service as claims_svc
from backend.runtime import Runtime
from tests.backend.claims.support import calendar, make_id, report_kwargs
from tests.backend.staff.helpers import PASSWORD, Clock, _auth, _login, _user, code_at


def test_a01_login_me_logout(client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    name, secret = _user(db, runtime, "agent")
    r = _login(client, clock, name, secret)
    assert r.status_code == 200 and r.json()["staff"]["username"] == name
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/staff/api/auth/me", headers=headers).json()["role"] == "agent"
    assert client.post("/staff/api/auth/logout", headers=headers).status_code == 200
    r = client.get("/staff/api/auth/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_logged_in"
    assert client.get("/staff/api/auth/me").status_code == 401


def test_a01_brute_force_lockout_api(client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    name, secret = _user(db, runtime, "agent")
    for i in range(runtime.settings.auth.max_failed_logins):
        r = _login(client, clock, name, secret, password=f"Wrong#{i}Password")
        assert r.status_code == 401 and r.json()["error"]["code"] == "login_failed"
    r = _login(client, clock, name, secret)  # right factors, but locked
    assert r.status_code == 401 and r.json()["error"]["code"] == "login_failed"
    results = db.scalars(select(AuditRecord.action).where(AuditRecord.actor == name)).all()
    assert "login_lockout" in results  # committed although every request failed
    unknown = _login(client, clock, "nobody" + name, secret)
    assert unknown.json()["error"] == r.json()["error"]  # no hint that the user exists


def test_a01_session_timeouts_api(client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    headers = _auth(client, clock, db, runtime, "agent")
    clock.advance(runtime.settings.auth.idle_timeout_s + 1)
    r = client.get("/staff/api/auth/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_idle_timeout"
    headers = _auth(client, clock, db, runtime, "agent")
    for _ in range(runtime.settings.auth.absolute_timeout_s // 600):
        clock.advance(600)
        client.get("/staff/api/auth/me", headers=headers)
    r = client.get("/staff/api/auth/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_expired"


def test_a01_expired_password_flow(client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    name, secret = _user(db, runtime, "agent")
    clock.advance(91 * 86400)
    r = _login(client, clock, name, secret)
    assert r.status_code == 401 and r.json()["error"]["code"] == "password_expired"
    clock.advance(31)
    r = client.post("/staff/api/auth/password/expired", json={
        "username": name, "password": PASSWORD, "totp_code": code_at(secret, clock.now),
        "new_password": "Another#Pass2026"})
    assert r.status_code == 200, r.text
    assert _login(client, clock, name, secret, password="Another#Pass2026").status_code == 200


def test_a02_roles_separated(client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    admin = _auth(client, clock, db, runtime, "admin")
    auditor = _auth(client, clock, db, runtime, "auditor")
    agent = _auth(client, clock, db, runtime, "agent")
    assert client.get("/staff/api/audit/verify", headers=auditor).status_code == 200
    assert client.get("/staff/api/audit/verify", headers=admin).status_code == 403  # admin ≠ auditor
    body = {"username": "n" + uuid.uuid4().hex[:8], "role": "agent", "password": "Good#Pass2026"}
    assert client.post("/staff/api/staff", json=body, headers=auditor).status_code == 403
    assert client.post("/staff/api/staff", json=body, headers=agent).status_code == 403
    r = client.post("/staff/api/staff", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["otpauth_uri"].startswith("otpauth://")
    weak = dict(body, username="w" + uuid.uuid4().hex[:8], password="weak")
    r = client.post("/staff/api/staff", json=weak, headers=admin)
    assert r.status_code == 400 and r.json()["error"]["code"] == "weak_password"


def test_a02_disable_ends_sessions(client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    admin = _auth(client, clock, db, runtime, "admin")
    name, secret = _user(db, runtime, "agent")
    token = _login(client, clock, name, secret).json()["token"]
    me = client.get("/staff/api/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert client.post(f"/staff/api/staff/{me['id']}/disable", headers=admin).status_code == 200
    assert client.get("/staff/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _login(client, clock, name, secret).status_code == 401


def _claim(db: Session, runtime: Runtime, id_number: str) -> int:
    claim = claims_svc.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                    **report_kwargs(insured_id_number=id_number,
                                                    reporter_phone="13912345678"))
    db.flush()
    return claim.id


def test_a03_claims_masked_and_reveal_audited(client: TestClient, db: Session, runtime: Runtime,
                                              clock: Clock) -> None:
    id_number = make_id()
    claim_id = _claim(db, runtime, id_number)
    officer = _auth(client, clock, db, runtime, "claims_officer")
    r = client.get(f"/staff/api/claims/{claim_id}", headers=officer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert id_number not in r.text and "13912345678" not in r.text and "陈阿婆" not in r.text
    assert body["insured_id_number"] == id_number[:4] + "*" * 10 + id_number[-4:]
    assert body["reporter_phone"] == "139****5678" and body["materials"] and "provisional" in body["deadline"]
    listed = client.get("/staff/api/claims", headers=officer)
    assert listed.status_code == 200 and id_number not in listed.text and "13912345678" not in listed.text
    found = client.post("/staff/api/claims/search", json={"id_number": id_number}, headers=officer)
    assert [c["id"] for c in found.json()["items"]] == [claim_id] and id_number not in found.text
    reads = db.scalars(select(AuditRecord).where(AuditRecord.object_type == "claim",
                                                 AuditRecord.object_id == str(claim_id),
                                                 AuditRecord.action == "read")).all()
    assert len(reads) >= 3
    req = {"object_type": "claim", "object_id": claim_id, "field": "insured_id_number"}
    short = client.post("/staff/api/reveal", json=dict(req, reason="看"), headers=officer)
    assert short.status_code == 422 and short.json()["error"]["code"] == "reason_required"
    r = client.post("/staff/api/reveal", json=dict(req, reason="核对理赔申请人身份"), headers=officer)
    assert r.status_code == 200 and r.json()["value"] == id_number
    rec = db.scalars(select(AuditRecord).where(AuditRecord.action == "reveal", AuditRecord.result == "ok",
                                               AuditRecord.object_id == str(claim_id))).one()
    assert rec.field == "insured_id_number" and rec.purpose == "核对理赔申请人身份"


def test_a02_agent_cannot_transition_auditor_cannot_reveal(client: TestClient, db: Session, runtime: Runtime,
                                                           clock: Clock) -> None:
    claim_id = _claim(db, runtime, make_id())
    agent = _auth(client, clock, db, runtime, "agent")
    auditor = _auth(client, clock, db, runtime, "auditor")
    officer = _auth(client, clock, db, runtime, "claims_officer")
    move = {"to_state": "materials_pending", "reason": "开始收材料", "expected_version": 1}
    r = client.post(f"/staff/api/claims/{claim_id}/transition", json=move, headers=agent)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    req = {"object_type": "claim", "object_id": claim_id, "field": "reporter_phone", "reason": "回电客户"}
    assert client.post("/staff/api/reveal", json=req, headers=auditor).status_code == 403
    assert client.post("/staff/api/reveal", json=req, headers=agent).status_code == 403
    assert client.get(f"/staff/api/claims/{claim_id}", headers=auditor).status_code == 403
    r = client.post(f"/staff/api/claims/{claim_id}/transition", json=move, headers=officer)
    assert r.status_code == 200 and r.json()["state"] == "materials_pending"
    stale = client.post(f"/staff/api/claims/{claim_id}/transition",
                        json={"to_state": "withdrawn", "reason": "客户撤案", "expected_version": 1},
                        headers=officer)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "version_conflict"
    bad = client.post(f"/staff/api/claims/{claim_id}/transition", json={"to_state": "paid"}, headers=officer)
    assert bad.status_code == 409 and bad.json()["error"]["code"] == "invalid_transition"
