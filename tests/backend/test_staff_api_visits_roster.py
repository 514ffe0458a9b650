"""Staff API over home visits, the roster lookup and the audit log (A-02 roles, A-03 masking, A-04 reads)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.complaints import home_visits as hv
from backend.complaints.models import HomeVisit
from backend.roster.service import import_roster
from backend.runtime import Runtime
from tests.backend.claims.support import NOW
from tests.backend.roster.helpers import csv_bytes
from tests.backend.roster.helpers import make_id as roster_id
from tests.backend.test_staff_api_cases import (
    PHONE,
    READERS,
    ROLES,
    SERVICE_WRITERS,
    Staff,
    assert_error,
    assert_ok,
    new_claim,
    reads,
)

ADDRESS = "潮南区陈店镇某村1号"


def new_visit(db: Session, runtime: Runtime, *, name: str = "黄婆婆", phone: str = PHONE) -> HomeVisit:
    visit = hv.request_home_visit(db, cipher=runtime.cipher, catalog=runtime.catalog, name=name,
                                  phone=phone, address=ADDRESS, purpose="交材料", channel="phone",
                                  actor="staff:3", now=NOW)
    db.flush()
    return visit


# --- home visits ---------------------------------------------------------------------------------


def test_a03_home_visits_list_masked_filtered_audited(client: TestClient, db: Session, runtime: Runtime,
                                                      staff: Staff) -> None:
    visit = new_visit(db, runtime)
    assert_error(client.get("/staff/api/home-visits"), 401, "not_logged_in")
    assert_error(client.get("/staff/api/home-visits", headers=staff("auditor")), 403, "forbidden")
    for role in sorted(READERS):
        r = client.get("/staff/api/home-visits", headers=staff(role))
        (item,) = [v for v in assert_ok(r)["items"] if v["id"] == visit.id]
        assert item["name"] == "黄*婆" and item["phone"] == "139****5678"
        assert ADDRESS not in r.text and "陈店镇" not in r.text and item["address"].startswith("（")
    assert len(reads(db, "home_visit", visit.id, "list")) == len(READERS)
    agent = staff("agent")
    std = runtime.catalog.get(None).service_standards
    ids = {v["id"] for v in assert_ok(client.get("/staff/api/home-visits", headers=agent, params={
        "state": "requested", "due_within_hours": std.home_visit_contact_hours + 1}))["items"]}
    assert visit.id in ids
    ids = {v["id"] for v in assert_ok(client.get("/staff/api/home-visits", headers=agent,
                                                 params={"state": "visited"}))["items"]}
    assert visit.id not in ids
    ids = {v["id"] for v in assert_ok(client.get("/staff/api/home-visits", headers=agent,
                                                 params={"overdue": "false"}))["items"]}
    assert visit.id in ids  # the test clock is before the contact deadline
    assert_error(client.get("/staff/api/home-visits", params={"state": "lost"}, headers=agent), 400,
                 "unknown_state")


def test_a02_home_visit_contacted_visited(client: TestClient, db: Session, runtime: Runtime,
                                          staff: Staff) -> None:
    visit = new_visit(db, runtime)
    base = f"/staff/api/home-visits/{visit.id}"
    for role in set(ROLES) - SERVICE_WRITERS:
        assert_error(client.post(f"{base}/contacted", json={}, headers=staff(role)), 403, "forbidden")
    agent = staff("agent")
    assert_error(client.post(f"{base}/visited", json={}, headers=agent), 409, "invalid_transition")
    db.refresh(visit)
    assert visit.state == "requested" and visit.visited_at is None  # the refused change left nothing
    body = assert_ok(client.post(f"{base}/contacted", json={"note": f"已约好周三上午，回拨{PHONE}"},
                                 headers=agent))
    assert body["state"] == "contacted" and body["contacted_at"] is not None
    assert "139****5678" in body["note"]
    assert reads(db, "home_visit", visit.id, "after_update")
    again = client.post(f"{base}/contacted", json={"note": "再次联系"}, headers=staff("supervisor"))
    assert_error(again, 409, "invalid_transition")
    db.refresh(visit)
    note = hv.visit_text(visit, "note", cipher=runtime.cipher) or ""
    assert visit.contacted_by == staff.username("agent") and "再次联系" not in note and "已约好" in note
    done = assert_ok(client.post(f"{base}/visited", json={}, headers=staff("claims_officer")))
    assert done["state"] == "visited" and done["visited_at"] is not None
    assert_error(client.post(f"{base}/cancel", json={"reason": "客户不需要了"}, headers=agent), 409,
                 "invalid_transition")
    for path, payload in (("contacted", {}), ("visited", {}), ("cancel", {"reason": "重复申请"})):
        assert_error(client.post(f"/staff/api/home-visits/987654/{path}", json=payload, headers=agent),
                     404, "home_visit_not_found")


def test_a02_home_visit_cancel(client: TestClient, db: Session, runtime: Runtime, staff: Staff) -> None:
    visit = new_visit(db, runtime)
    url = f"/staff/api/home-visits/{visit.id}/cancel"
    assert_error(client.post(url, json={"reason": "重复申请"}, headers=staff("auditor")), 403, "forbidden")
    admin = staff("admin")
    assert_error(client.post(url, json={}, headers=admin), 422, "invalid_request")
    assert_error(client.post(url, json={"reason": "   "}, headers=admin), 400, "invalid_input")
    db.refresh(visit)
    assert visit.state == "requested" and visit.cancelled_at is None
    body = assert_ok(client.post(url, json={"reason": "重复申请"}, headers=admin))
    assert body["state"] == "cancelled" and body["note"] == "重复申请"
    assert_error(client.post(url, json={"reason": "再取消"}, headers=admin), 409, "invalid_transition")


# --- roster lookup -------------------------------------------------------------------------------


def test_a03_roster_lookup_found_eligible_not_eligible_not_found(client: TestClient, db: Session,
                                                                 runtime: Runtime, staff: Staff) -> None:
    covered = roster_id(dt.date(1940, 2, 2), seq=15)
    young = roster_id(dt.date(1966, 6, 15), seq=11)  # turns 60 in June 2026 (the clock is March 2026)
    absent = roster_id(dt.date(1950, 5, 5), seq=17)
    report = import_roster(db, cipher=runtime.cipher, product=runtime.catalog.get(None), actor="test",
                           data=csv_bytes(f"郑秀英,{covered},潮南区,{PHONE},潮南区峡山街道1号",
                                          f"黄伟明,{young},潮南区,,"),
                           file_name="roster.csv", today=dt.date(2026, 2, 1))
    assert report.imported_new == 2, report.rejections
    db.flush()
    url = "/staff/api/roster/lookup"
    assert_error(client.post(url, json={"id_number": covered}), 401, "not_logged_in")
    assert_error(client.post(url, json={"id_number": covered}, headers=staff("auditor")), 403, "forbidden")
    for role in sorted(READERS):
        r = client.post(url, json={"id_number": covered}, headers=staff(role))
        body = assert_ok(r)
        assert body["found"] is True and body["eligible"] is True and body["code"] == "eligible"
        assert body["name"] == "郑*英" and body["id_number"] == covered[:4] + "*" * 10 + covered[-4:]
        assert "秀" not in r.text and "峡山" not in r.text and set(body) == {
            "id_number", "found", "eligible", "code", "reason", "cover_start", "person_id", "name"}
    person_id = body["person_id"]
    recs = list(db.scalars(select(AuditRecord).where(AuditRecord.object_type == "roster_person",
                                                     AuditRecord.object_id == str(person_id))))
    assert len(recs) == len(READERS) and {r.purpose for r in recs} == {"eligibility"}
    agent = staff("agent")
    body = assert_ok(client.post(url, json={"id_number": young.lower()}, headers=agent))
    assert (body["found"], body["eligible"], body["code"]) == (True, False, "under_age")
    assert body["name"] == "黄*明" and body["cover_start"] == "2026-07-01" and "60" in body["reason"]
    body = assert_ok(client.post(url, json={"id_number": absent}, headers=agent))
    assert (body["found"], body["eligible"], body["code"], body["name"]) == (False, False, "not_found", None)
    miss = db.scalars(select(AuditRecord).where(AuditRecord.object_type == "roster_person",
                                                AuditRecord.result == "not_found")).all()
    assert len(miss) == 1 and miss[0].object_id is None and absent not in (miss[0].purpose or "")
    body = assert_ok(client.post(url, json={"id_number": "12345"}, headers=agent))
    assert body["found"] is False and body["code"].startswith("id_")
    assert_error(client.post(url, json={"id_number": ""}, headers=agent), 422, "invalid_request")
    assert_error(client.post(url, json={}, headers=agent), 422, "invalid_request")


# --- audit events --------------------------------------------------------------------------------


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
