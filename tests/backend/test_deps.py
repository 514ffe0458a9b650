"""Every number a staff request carries is bounded: out of range → 422 in the one error shape, fast.

Before the bounds, ``GET /staff/api/claims?due_within_working_days=100000000`` walked the calendar
for seconds and then raised OverflowError (500); huge ids overflowed the database driver (500 on
SQLite, 503 on PostgreSQL instead of 404).
"""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.runtime import Runtime
from tests.backend.claims.support import new_claim
from tests.backend.complaints.support import new_complaint
from tests.backend.staff.helpers import Staff, assert_error, assert_ok

HUGE = str(10**30)
BAD_QUERIES: list[tuple[str, dict[str, str]]] = [
    ("/staff/api/claims", {"due_within_working_days": "100000000"}),
    ("/staff/api/claims", {"due_within_working_days": "61"}),
    ("/staff/api/claims", {"due_within_working_days": "-1"}),
    ("/staff/api/claims", {"due_within_working_days": HUGE}),
    ("/staff/api/claims", {"limit": "0"}),
    ("/staff/api/claims", {"limit": "201"}),
    ("/staff/api/claims", {"offset": "-1"}),
    ("/staff/api/claims", {"offset": "100001"}),
    ("/staff/api/claims", {"offset": HUGE}),
    ("/staff/api/complaints", {"due_within_hours": "inf"}),
    ("/staff/api/complaints", {"due_within_hours": "nan"}),
    ("/staff/api/complaints", {"due_within_hours": "-0.5"}),
    ("/staff/api/complaints", {"due_within_hours": "720.5"}),
    ("/staff/api/complaints", {"due_within_hours": "1e308"}),
    ("/staff/api/complaints", {"limit": "201"}),
    ("/staff/api/complaints", {"offset": "100001"}),
    ("/staff/api/home-visits", {"due_within_hours": "Infinity"}),
    ("/staff/api/home-visits", {"due_within_hours": "NaN"}),
    ("/staff/api/home-visits", {"due_within_hours": "721"}),
    ("/staff/api/home-visits", {"limit": "0"}),
    ("/staff/api/home-visits", {"offset": "-3"}),
    ("/staff/api/claims/" + HUGE, {}),
    ("/staff/api/claims/0", {}),
    ("/staff/api/complaints/" + HUGE, {}),
    ("/staff/api/complaints/2147483648", {}),
]


def test_staff_query_bounds_answer_422(client: TestClient, staff: Staff) -> None:
    agent = staff("agent")
    for path, params in BAD_QUERIES:
        started = time.monotonic()
        r = client.get(path, params=params, headers=agent)
        assert time.monotonic() - started < 2.0, (path, params)
        error = assert_error(r, 422, "invalid_request")
        assert error["detail"] and error["detail"][0]["loc"][0] in ("query", "path"), (path, params)
        assert HUGE not in r.text


def test_staff_query_bounds_edges_still_work(client: TestClient, db: Session, runtime: Runtime,
                                             staff: Staff) -> None:
    claim = new_claim(db, runtime)
    complaint = new_complaint(db, runtime)
    agent = staff("agent")
    for path, params in [
        ("/staff/api/claims", {"due_within_working_days": "60", "limit": "200", "offset": "0"}),
        ("/staff/api/complaints", {"due_within_hours": "720", "limit": "1"}),
        ("/staff/api/home-visits", {"due_within_hours": "0", "offset": "100000"}),
    ]:
        assert_ok(client.get(path, params=params, headers=agent))
    soon = assert_ok(client.get("/staff/api/claims", params={"due_within_working_days": "60"}, headers=agent))
    assert claim.id in {c["id"] for c in soon["items"]}
    due = assert_ok(client.get("/staff/api/complaints", params={"due_within_hours": "720"}, headers=agent))
    assert complaint.id in {c["id"] for c in due["items"]}
    assert_error(client.get("/staff/api/claims/2147483647", headers=agent), 404, "claim_not_found")


def test_staff_body_and_path_numbers_bounded(client: TestClient, db: Session, runtime: Runtime,
                                             staff: Staff) -> None:
    claim = new_claim(db, runtime)
    officer, auditor, admin = staff("claims_officer"), staff("auditor"), staff("admin")
    move = {"to_state": "materials_pending", "expected_version": 10**12}
    assert_error(client.post(f"/staff/api/claims/{claim.id}/transition", json=move, headers=officer), 422,
                 "invalid_request")
    amount = {"to_state": "approved", "approved_amount_fen": 10**20}
    assert_error(client.post(f"/staff/api/claims/{claim.id}/transition", json=amount, headers=officer), 422,
                 "invalid_request")
    complex_ = {"complex": True, "reason": "调查", "expected_version": -1}
    assert_error(client.post(f"/staff/api/claims/{claim.id}/complex", json=complex_, headers=officer), 422,
                 "invalid_request")
    reveal = {"object_type": "claim", "object_id": 10**20, "field": "reporter_phone", "reason": "回电客户"}
    assert_error(client.post("/staff/api/reveal", json=reveal, headers=officer), 422, "invalid_request")
    long_id = "x" * 65
    assert_error(client.post(f"/staff/api/claims/{claim.id}/materials/{long_id}", json={"received": True},
                             headers=officer), 422, "invalid_request")
    for path in ("/staff/api/home-visits/" + HUGE + "/contacted", "/staff/api/complaints/-1/acknowledge"):
        assert_error(client.post(path, json={}, headers=officer), 422, "invalid_request")
    assert_error(client.post(f"/staff/api/staff/{HUGE}/disable", headers=admin), 422, "invalid_request")
    for params in ({"before_seq": HUGE}, {"before_seq": "0"}, {"limit": "501"}, {"object_id": "9" * 65}):
        assert_error(client.get("/staff/api/audit/events", params=params, headers=auditor), 422,
                     "invalid_request")
    r = client.get(f"/staff/api/claims/{claim.id}", headers=officer)
    assert assert_ok(r)["state"] == "reported" and r.json()["version"] == claim.version  # nothing moved
