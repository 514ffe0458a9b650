"""Staff API over complaints and home-visit requests (A-02 roles, A-03 masking, A-04 reads).

Every test logs in for real (password + TOTP) through ``/staff/api/auth/login``; every private value
must be absent from every response body; every read leaves an audit record with the object's id.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.complaints import home_visits as hv
from backend.runtime import Runtime
from tests.backend.claims.support import CARD, PHONE, make_id
from tests.backend.complaints.support import ADDRESS, new_complaint, new_visit
from tests.backend.staff.helpers import READERS, ROLES, SERVICE_WRITERS, Staff, assert_error, assert_ok, reads


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
