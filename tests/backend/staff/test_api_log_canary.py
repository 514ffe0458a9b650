"""D-02: staff API flows (login, claims, reveal, roster lookup) leave no ID, phone or card number in logs."""

from __future__ import annotations

import logging
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.claims import service as claims_svc
from backend.runtime import Runtime
from tests.backend.claims.support import calendar, make_id, report_kwargs
from tests.backend.staff.helpers import Clock, _auth
from tests.support.pii import find_pii

CARD = "6222021234567890128"  # Luhn-valid


def test_d02_staff_flows_log_no_private_numbers(client: TestClient, db: Session, runtime: Runtime,
                                                 clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    id_number = make_id()
    kwargs = report_kwargs(insured_id_number=id_number, reporter_phone="13912345678")
    claim = claims_svc.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                    **kwargs)
    claims_svc.set_bank_account(db, cipher=runtime.cipher, claim_id=claim.id, bank_account=CARD, actor="t")
    db.flush()
    officer = _auth(client, clock, db, runtime, "claims_officer")
    client.post("/staff/api/auth/login", json={"username": "x" + uuid.uuid4().hex[:6],
                                               "password": id_number, "totp_code": "13912345678"})
    client.get(f"/staff/api/claims/{claim.id}", headers=officer)
    client.post("/staff/api/claims/search", json={"id_number": id_number}, headers=officer)
    client.post("/staff/api/claims/search", json={"id_number": "13912345678"}, headers=officer)
    client.post("/staff/api/roster/lookup", json={"id_number": id_number}, headers=officer)
    for field in ("insured_id_number", "reporter_phone", "bank_account"):
        req = {"object_type": "claim", "object_id": claim.id, "field": field, "reason": "核对客户资料"}
        r = client.post("/staff/api/reveal", json=req, headers=officer)
        assert r.status_code == 200
    client.post("/staff/api/staff", json={"username": "y", "role": "agent", "password": id_number},
                headers=officer)
    records = caplog.records
    assert records, "the flows should have logged something (the canary must be able to see)"
    hits = [(r.name, kind) for r in records for kind, _ in find_pii(r.getMessage())]
    assert hits == []
