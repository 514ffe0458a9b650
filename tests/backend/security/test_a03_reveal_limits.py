"""A-03/A-04 over the staff API: a reveal refused by role is audited like any other refusal; the reason
is stored with numbers masked; bulk reveal is throttled per staff member (Redis), refused with an alert
over the limit and refused outright when Redis cannot count (fail closed)."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.runtime import Runtime
from tests.backend.claims.support import PHONE, make_id, new_claim
from tests.backend.staff.helpers import Staff, assert_error
from tests.support.pii import find_pii
from tests.support.servers import dead_redis


def _reveals(db: Session, actor: str) -> list[AuditRecord]:
    db.expire_all()
    q = select(AuditRecord).where(AuditRecord.action == "reveal", AuditRecord.actor == actor)
    return list(db.scalars(q.order_by(AuditRecord.seq)))


def _body(claim_id: int, reason: str = "回电客户核对信息",
          field: str = "reporter_phone") -> dict[str, object]:
    return {"object_type": "claim", "object_id": claim_id, "field": field, "reason": reason}


def test_a04_reveal_refused_by_role_is_audited(client: TestClient, db: Session, runtime: Runtime,
                                               staff: Staff) -> None:
    claim = new_claim(db, runtime)
    for role in ("agent", "auditor"):
        r = client.post("/staff/api/reveal", json=_body(claim.id), headers=staff(role))
        assert_error(r, 403, "forbidden")
        (rec,) = _reveals(db, staff.username(role))
        assert (rec.result, rec.object_type, rec.object_id, rec.field) == (
            "refused: forbidden", "claim", str(claim.id), "reporter_phone")
        assert rec.ip and rec.purpose == "回电客户核对信息"


def test_a03_reveal_reason_with_id_or_phone_is_stored_masked(client: TestClient, db: Session,
                                                              runtime: Runtime, staff: Staff) -> None:
    id_number = make_id()
    claim = new_claim(db, runtime, id_number=id_number)
    officer = staff("claims_officer")
    reason = f"客户{id_number}来电，手机{PHONE}，核对身份"
    r = client.post("/staff/api/reveal", json=_body(claim.id, reason, "insured_id_number"), headers=officer)
    assert r.status_code == 200 and r.json()["value"] == id_number
    r = client.post("/staff/api/reveal", json=_body(claim.id, PHONE), headers=officer)  # a number alone
    assert r.status_code == 200
    (ok, second) = _reveals(db, staff.username("claims_officer"))
    assert ok.purpose == f"客户{id_number[:4]}{'*' * 10}{id_number[-4:]}来电，手机139****5678，核对身份"
    assert second.purpose == "139****5678"
    assert find_pii(f"{ok.purpose} {second.purpose}") == []


def test_a03_bulk_reveal_is_throttled_per_staff_member(
        client: TestClient, db: Session, runtime: Runtime, staff: Staff,
        caplog: pytest.LogCaptureFixture) -> None:
    runtime.settings.auth.reveals_per_window = 3
    claims = [new_claim(db, runtime, id_number=make_id(f"44051419530101{i + 100:03d}")) for i in range(6)]
    officer, supervisor = staff("claims_officer"), staff("supervisor")
    with caplog.at_level(logging.ERROR):
        for claim in claims[:3]:
            assert client.post("/staff/api/reveal", json=_body(claim.id), headers=officer).status_code == 200
        for claim in claims[3:]:
            r = client.post("/staff/api/reveal", json=_body(claim.id), headers=officer)
            error = assert_error(r, 429, "reveal_throttled")
            assert "value" not in r.json() and 0 < int(r.headers["Retry-After"]) <= 600
            assert error["detail"]["limit"] == 3
    assert caplog.text.count("ALERT bulk reveal") == 1  # one alert per window, not one per attempt
    r = client.post("/staff/api/reveal", json=_body(claims[5].id), headers=supervisor)
    assert r.status_code == 200  # counted per person
    results = [rec.result for rec in _reveals(db, staff.username("claims_officer"))]
    assert results == ["ok"] * 3 + ["refused: reveal_throttled"] * 3
    keys = sorted(k.decode() for k in runtime.redis.keys("rl:staff:reveal:*"))  # one window per person
    assert len(keys) == 2 and all(re.fullmatch(r"rl:staff:reveal:\d+:\d+", k) for k in keys)


def test_a03_reveal_fails_closed_when_redis_is_down(client: TestClient, db: Session, runtime: Runtime,
                                                     staff: Staff) -> None:
    claim = new_claim(db, runtime)
    officer = staff("claims_officer")
    alive = runtime.redis
    runtime.redis = dead_redis()
    try:
        r = client.post("/staff/api/reveal", json=_body(claim.id), headers=officer)
    finally:
        runtime.redis.close()
        runtime.redis = alive
    assert_error(r, 503, "reveal_unavailable")
    assert "value" not in r.json()
    assert [rec.result for rec in _reveals(db, staff.username("claims_officer"))] == [
        "refused: reveal_unavailable"]
