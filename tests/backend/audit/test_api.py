"""Staff API over the audit log: verify the chain, list records (auditors only, A-02; reading is
audited, A-04)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.jobs import run_checkpoint
from backend.audit.models import AuditRecord
from backend.runtime import Runtime
from backend.worker import job_context
from tests.backend.claims.support import PHONE, new_claim
from tests.backend.staff.helpers import ROLES, Clock, Staff, _auth, assert_error, assert_ok


def test_a04_audit_verify_endpoint(client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    auditor = _auth(client, clock, db, runtime, "auditor")
    r = client.get("/staff/api/audit/verify", headers=auditor)  # no signed checkpoint yet
    assert r.status_code == 200 and r.json()["ok"] is False and "checkpoint" in r.json()["reason"]
    cp = run_checkpoint(job_context(runtime))  # what the worker does every minute
    assert cp is not None
    r = client.get("/staff/api/audit/verify", headers=auditor)
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["checked"] >= 2
    assert r.json()["checkpoint_seq"] == cp.seq
    events = client.get("/staff/api/audit/events", params={"action": "login"}, headers=auditor)
    assert events.status_code == 200 and events.json()["items"]


def test_a04_audit_events_auditors_only(client: TestClient, db: Session, runtime: Runtime,
                                        staff: Staff) -> None:
    claim = new_claim(db, runtime)
    officer = staff("claims_officer")
    assert_ok(client.get(f"/staff/api/claims/{claim.id}", headers=officer))
    reveal = {"object_type": "claim", "object_id": claim.id, "field": "reporter_phone",
              "reason": f"回电客户{PHONE}确认地址"}
    assert client.post("/staff/api/reveal", json=reveal, headers=officer).status_code == 200
    url = "/staff/api/audit/events"
    assert_error(client.get(url), 401, "not_logged_in")
    for role in set(ROLES) - {"auditor"}:
        assert_error(client.get(url, headers=staff(role)), 403, "forbidden")
    auditor = staff("auditor")
    r = client.get(url, params={"object_type": "claim", "object_id": str(claim.id)}, headers=auditor)
    items = assert_ok(r)["items"]
    assert {i["action"] for i in items} == {"read", "reveal"}
    assert all(i["object_id"] == str(claim.id) for i in items)
    seqs = [i["seq"] for i in items]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    older = assert_ok(client.get(url, params={"before_seq": seqs[0], "limit": 1}, headers=auditor))["items"]
    assert len(older) == 1 and older[0]["seq"] < seqs[0]
    assert assert_ok(client.get(url, params={"action": "nothing_like_this"}, headers=auditor))["items"] == []
    own = db.scalars(select(AuditRecord).where(AuditRecord.action == "audit_read",
                                               AuditRecord.actor == staff.username("auditor"))).all()
    assert len(own) == 3  # reading the log is itself audited
