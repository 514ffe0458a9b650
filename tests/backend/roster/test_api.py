"""Staff API over the roster: is this person covered? (A-02 roles, A-03 masking, A-04 reads)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.roster.service import import_roster
from backend.runtime import Runtime
from tests.backend.claims.support import PHONE
from tests.backend.roster.helpers import csv_bytes
from tests.backend.roster.helpers import make_id as roster_id
from tests.backend.staff.helpers import READERS, Staff, assert_error, assert_ok


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
