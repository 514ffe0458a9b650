"""Staff API over claims (materials, complex flag) and complaints (A-02 roles, A-03 masking, A-04 reads).

Every test logs in for real (password + TOTP) through ``/staff/api/auth/login``; every private value
must be absent from every response body; every read leaves an audit record with the object's id.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.claims import service as claims_svc
from backend.claims.models import Claim, ClaimEvent
from backend.complaints import service as complaints_svc
from backend.complaints.models import Complaint
from backend.runtime import Runtime
from tests.backend.claims.support import NOW, calendar, make_id, report_kwargs
from tests.backend.test_staff_api_auth import Clock, _auth
from tests.support.pii import find_pii

CARD = "6222021234567890128"  # Luhn-valid
PHONE = "13912345678"
ROLES = ("agent", "claims_officer", "supervisor", "auditor", "admin")
READERS = {"agent", "claims_officer", "supervisor", "admin"}  # cases_api._READ
CLAIM_WRITERS = {"claims_officer", "supervisor", "admin"}  # cases_api._CLAIM_WRITE
SERVICE_WRITERS = READERS  # complaints and home visits: everyone who may read may act


class Staff:
    """One logged-in account per role, made on first use (real password + TOTP login)."""

    def __init__(self, client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
        self.client, self.db, self.runtime, self.clock = client, db, runtime, clock
        self._headers: dict[str, dict[str, str]] = {}

    def __call__(self, role: str) -> dict[str, str]:
        if role not in self._headers:
            self._headers[role] = _auth(self.client, self.clock, self.db, self.runtime, role)
        return self._headers[role]

    def username(self, role: str) -> str:
        me = self.client.get("/staff/api/auth/me", headers=self(role))
        return str(me.json()["username"])


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error shape, with a Chinese message, and the expected status (and code)."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}, body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message"]), body
    if code is not None:
        assert body["error"]["code"] == code, body
    assert find_pii(r.text) == []
    error: dict[str, Any] = body["error"]
    return error


def assert_ok(r: httpx.Response) -> dict[str, Any]:
    """200, and no clear ID number, phone or bank card anywhere in the body."""
    assert r.status_code == 200, r.text
    assert find_pii(r.text) == [], find_pii(r.text)
    body: dict[str, Any] = r.json()
    return body


def reads(db: Session, object_type: str, object_id: int, purpose: str | None = None) -> list[AuditRecord]:
    """Audit records of reads of one object (optionally with one purpose)."""
    q = select(AuditRecord).where(AuditRecord.action == "read", AuditRecord.object_type == object_type,
                                  AuditRecord.object_id == str(object_id))
    if purpose is not None:
        q = q.where(AuditRecord.purpose == purpose)
    return list(db.scalars(q))


def new_claim(db: Session, runtime: Runtime, *, id_number: str | None = None) -> Claim:
    claim = claims_svc.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                    **report_kwargs(insured_id_number=id_number or make_id(),
                                                    reporter_phone=PHONE))
    claims_svc.set_bank_account(db, cipher=runtime.cipher, claim_id=claim.id, bank_account=CARD, actor="t")
    db.flush()
    return claim


def new_complaint(db: Session, runtime: Runtime, **kw: Any) -> Complaint:
    args: dict[str, Any] = {"category": "claim_speed", "severity": "normal", "channel": "phone",
                            "complainant_name": "林阿伯", "contact_phone": PHONE, "content": "理赔太慢",
                            "actor": "staff:3", "now": NOW}
    args.update(kw)
    c = complaints_svc.file_complaint(db, cipher=runtime.cipher, catalog=runtime.catalog,
                                      calendar=calendar(), **args)
    db.flush()
    return c


def events(db: Session, claim_id: int) -> list[str]:
    return list(db.scalars(select(ClaimEvent.kind).where(ClaimEvent.claim_id == claim_id)
                           .order_by(ClaimEvent.id)))


# --- claims: materials ---------------------------------------------------------------------------


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


# --- claims: complex flag ------------------------------------------------------------------------


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


# --- complaints ----------------------------------------------------------------------------------


def test_a03_complaints_list_filters_masked_and_audited(client: TestClient, db: Session, runtime: Runtime,
                                                        staff: Staff) -> None:
    slow = new_complaint(db, runtime)
    rude = new_complaint(db, runtime, category="service_attitude", severity="urgent",
                         complainant_name="郑秀英", contact_phone="13700001111")
    assert_error(client.get("/staff/api/complaints"), 401, "not_logged_in")
    assert_error(client.get("/staff/api/complaints", headers=staff("auditor")), 403, "forbidden")
    for role in sorted(READERS):
        items = assert_ok(client.get("/staff/api/complaints", headers=staff(role)))["items"]
        assert {slow.id, rude.id} <= {c["id"] for c in items}
    agent = staff("agent")
    body = assert_ok(client.get("/staff/api/complaints", params={"category": "service_attitude"},
                                headers=agent))
    (item,) = [c for c in body["items"] if c["id"] in (slow.id, rude.id)]
    assert item["id"] == rude.id and item["complainant_name"] == "郑*英"
    assert item["contact_phone"] == "137****1111" and "content" not in item
    urgent = assert_ok(client.get("/staff/api/complaints", params={"severity": "urgent"}, headers=agent))
    assert rude.id in {c["id"] for c in urgent["items"]} and slow.id not in {c["id"] for c in urgent["items"]}
    ack_hours = runtime.catalog.get(None).service_standards.complaint_ack_hours
    soon = assert_ok(client.get("/staff/api/complaints", headers=agent,
                                params={"due_within_hours": ack_hours + 1, "state": "received"}))
    assert {slow.id, rude.id} <= {c["id"] for c in soon["items"]}
    late = assert_ok(client.get("/staff/api/complaints", params={"overdue": "true"}, headers=agent))
    assert not {slow.id, rude.id} & {c["id"] for c in late["items"]}  # the clock is before the ack deadline
    page = assert_ok(client.get("/staff/api/complaints", params={"limit": 1, "offset": 0}, headers=agent))
    assert len(page["items"]) == 1 and page["limit"] == 1
    assert len(reads(db, "complaint", rude.id, "list")) >= len(READERS) + 2
    assert_error(client.get("/staff/api/complaints", params={"state": "lost"}, headers=agent), 400,
                 "invalid_state")
    assert_error(client.get("/staff/api/complaints", params={"category": "x"}, headers=agent), 400,
                 "invalid_category")
    assert_error(client.get("/staff/api/complaints", params={"severity": "x"}, headers=agent), 400,
                 "invalid_severity")


def test_a03_complaint_detail(client: TestClient, db: Session, runtime: Runtime, staff: Staff) -> None:
    c = new_complaint(db, runtime)
    url = f"/staff/api/complaints/{c.id}"
    assert_error(client.get(url, headers=staff("auditor")), 403, "forbidden")
    for role in sorted(READERS):
        body = assert_ok(client.get(url, headers=staff(role)))
        assert body["complaint_no"] == c.complaint_no and body["content"] == "理赔太慢"
        assert body["contact_phone"] == "139****5678" and body["complainant_name"] == "林*伯"
        assert [e["kind"] for e in body["history"]] == ["filed"]
    assert len(reads(db, "complaint", c.id, "view")) == len(READERS)
    assert_error(client.get("/staff/api/complaints/987654", headers=staff("agent")), 404,
                 "complaint_not_found")


def test_a02_complaint_transition_ack_followup(client: TestClient, db: Session, runtime: Runtime,
                                               staff: Staff) -> None:
    c = new_complaint(db, runtime)
    base = f"/staff/api/complaints/{c.id}"
    auditor, agent, supervisor = staff("auditor"), staff("agent"), staff("supervisor")
    assert_error(client.post(f"{base}/acknowledge", json={}, headers=auditor), 403, "forbidden")
    assert_error(client.post(f"{base}/transition", json={"to_state": "investigating"}, headers=auditor),
                 403, "forbidden")
    assert_error(client.post(f"{base}/followup", json={"result": "满意"}, headers=auditor), 403, "forbidden")
    db.refresh(c)
    assert c.acknowledged_at is None and c.state == "received"
    # acknowledge (idempotent)
    body = assert_ok(client.post(f"{base}/acknowledge", json={"note": "已电话告知在处理"}, headers=agent))
    assert body["acknowledged_at"] is not None and body["due_kind"] == "resolution"
    again = assert_ok(client.post(f"{base}/acknowledge", json={}, headers=staff("admin")))
    assert again["acknowledged_at"] == body["acknowledged_at"]
    assert [e["kind"] for e in again["history"]] == ["filed", "acknowledged"]
    assert reads(db, "complaint", c.id, "after_ack")
    # transitions: invalid, stale, missing answer, then the path to 结案
    assert_error(client.post(f"{base}/transition", json={"to_state": "closed"}, headers=agent),
                 409, "invalid_transition")
    assert_error(client.post(f"{base}/transition", json={"to_state": "nowhere"}, headers=agent),
                 400, "invalid_state")
    assert_error(client.post(f"{base}/transition", headers=agent,
                             json={"to_state": "investigating", "expected_version": body["version"] + 1}),
                 409, "version_conflict")
    assert_error(client.post(f"{base}/followup", json={"result": "满意"}, headers=agent), 409,
                 "complaint_not_closed")
    moved = assert_ok(client.post(f"{base}/transition", headers=agent,
                                  json={"to_state": "investigating", "expected_version": body["version"]}))
    assert moved["state"] == "investigating" and reads(db, "complaint", c.id, "after_transition")
    assert_error(client.post(f"{base}/transition", json={"to_state": "responded"}, headers=agent),
                 400, "invalid_input")  # the answer to the complainant is required
    answer = {"to_state": "responded", "response": "已加快处理，三天内回复"}
    responded = assert_ok(client.post(f"{base}/transition", json=answer, headers=supervisor))
    assert responded["state"] == "responded"
    closed = assert_ok(client.post(f"{base}/transition", json={"to_state": "closed"}, headers=agent))
    assert closed["state"] == "closed" and closed["closed_at"] is not None
    assert_error(client.post(f"{base}/transition", json={"to_state": "investigating", "reason": "再查"},
                             headers=agent), 409, "invalid_transition")
    # follow-up (回访), once
    done = assert_ok(client.post(f"{base}/followup", json={"result": "客户满意", "satisfied": True},
                                 headers=agent))
    assert done["followup_result"] == "客户满意" and done["followup_satisfied"] is True
    assert reads(db, "complaint", c.id, "after_followup")
    assert_error(client.post(f"{base}/followup", json={"result": "再访"}, headers=agent), 409,
                 "followup_exists")
    assert_error(client.post(f"{base}/followup", json={}, headers=agent), 422, "invalid_request")
    for path, payload in (("acknowledge", {}), ("transition", {"to_state": "investigating"}),
                          ("followup", {"result": "满意"})):
        assert_error(client.post(f"/staff/api/complaints/987654/{path}", json=payload, headers=agent),
                     404, "complaint_not_found")


def test_a03_free_text_never_shows_a_private_number(client: TestClient, db: Session, runtime: Runtime,
                                                    staff: Staff) -> None:
    id_number = make_id()
    c = new_complaint(db, runtime, content=f"我身份证{id_number}，电话{PHONE}，卡号{CARD}，理赔太慢")
    r = client.get(f"/staff/api/complaints/{c.id}", headers=staff("agent"))
    body = assert_ok(r)
    assert id_number not in r.text and PHONE not in r.text and CARD not in r.text
    assert "理赔太慢" in body["content"] and "139****5678" in body["content"]


def test_a04_reads_audited_with_actor_and_time(client: TestClient, db: Session, runtime: Runtime,
                                               staff: Staff, clock: Clock) -> None:
    claim = new_claim(db, runtime)
    agent = staff("agent")
    assert_ok(client.get(f"/staff/api/claims/{claim.id}", headers=agent))
    (rec,) = reads(db, "claim", claim.id, "view")
    assert rec.actor == staff.username("agent") and rec.result == "ok"
    assert rec.at == clock.now and rec.ip == "testclient"
