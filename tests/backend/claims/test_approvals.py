"""Approved amounts: bounded by the product, explained above the computed benefit, confirmed by a second
person above the configured amount, and never marked paid by whoever set them (issue 8 item 6). Every
decision and refusal is audited (A-04); errors come in the one error shape."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.claims import service as svc
from backend.claims.approvals import BenefitFacts
from backend.claims.models import Claim
from backend.errors import ServiceError
from backend.runtime import Runtime
from tests.backend.claims.support import NOW, approve, calendar, make_id, product_catalog, report_kwargs
from tests.backend.staff.helpers import Clock, _auth, assert_error, assert_ok

MAX_FEN = 2**63 - 1  # 92,233,720,368,547,758.07 yuan: what one officer approved and marked paid
STAY = {"admission": "2026-02-27", "discharge": "2026-03-01"}  # 3 days × 30 yuan = 9,000 fen


def _under_review(db: Session, runtime: Runtime, claim_type: str = "hospital_allowance",
                  id_number: str | None = None, **kw: object) -> Claim:
    claim = svc.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                             **report_kwargs(claim_type=claim_type, insured_id_number=id_number or make_id(),
                                             **kw))
    for step in ("materials_pending", "under_review"):
        if step == "under_review":
            for m in claim.materials:
                m.received = True
        svc.transition_claim(db, cipher=runtime.cipher, calendar=calendar(), claim_id=claim.id, to_state=step,
                             actor="staff:1", reason=None, now=NOW)
    db.flush()
    return claim


def _approve(client: TestClient, claim: Claim, headers: dict[str, str], amount: int, **extra: object):  # type: ignore[no-untyped-def]
    body = {"to_state": "approved", "approved_amount_fen": amount, "benefit_facts": STAY, **extra}
    return client.post(f"/staff/api/claims/{claim.id}/transition", json=body, headers=headers)


def _audit(db: Session, claim: Claim, action: str = "claim_approval") -> list[tuple[str, str]]:
    db.expire_all()
    rows = db.scalars(select(AuditRecord).where(AuditRecord.action == action,
                                                AuditRecord.object_id == str(claim.id))
                      .order_by(AuditRecord.seq))
    return [(r.actor, r.result) for r in rows]


@pytest.fixture
def officers(client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> tuple[dict[str, str], ...]:
    return tuple(_auth(client, clock, db, runtime, "claims_officer") for _ in range(2))


def _me(client: TestClient, headers: dict[str, str]) -> str:
    return str(client.get("/staff/api/auth/me", headers=headers).json()["username"])


def test_approved_amount_is_bounded_by_the_product(client: TestClient, db: Session, runtime: Runtime,
                                                   officers: tuple[dict[str, str], ...]) -> None:
    claim = _under_review(db, runtime)
    officer = officers[0]
    for extra in ({}, {"reason": "家属强烈要求多赔"}):  # no reason lifts the product's ceiling
        r = _approve(client, claim, officer, MAX_FEN, **extra)
        error = assert_error(r, 422, "amount_over_limit")
        assert error["detail"] == {"amount_fen": MAX_FEN, "computed_fen": 9_000, "ceiling_fen": 270_000}
    db.expire_all()
    assert (claim.state, claim.approved_amount_fen) == ("under_review", None)
    assert _audit(db, claim) == [(_me(client, officer), "refused: amount_over_limit")] * 2
    other = client.get(f"/staff/api/claims/{claim.id}", headers=officers[1]).json()
    assert other["approvals"] == [] and other["state"] == "under_review"


def test_an_amount_above_the_computed_benefit_needs_a_reason(
        client: TestClient, db: Session, runtime: Runtime, officers: tuple[dict[str, str], ...]) -> None:
    claim = _under_review(db, runtime)
    officer = officers[0]
    error = assert_error(_approve(client, claim, officer, 20_000), 422, "reason_required")
    assert "90元" in error["message"]
    why = "住院期间另有护理，经主管同意按协议赔付，电话13912345678"
    r = _approve(client, claim, officer, 20_000, reason=why)
    body = assert_ok(r)
    assert (body["state"], body["approved_amount_fen"]) == ("approved", 20_000)
    [approval] = body["approvals"]
    assert (approval["status"], approval["computed_fen"], approval["ceiling_fen"], approval["amount_fen"],
            approval["allowance_days"], approval["facts"]) == ("approved", 9_000, 270_000, 20_000, 3, STAY)
    assert approval["over_reason"].endswith("电话139****5678")  # shown masked
    assert approval["proposed_by"] == _me(client, officer)
    assert _audit(db, claim) == [(_me(client, officer), "refused: reason_required"),
                                 (_me(client, officer), "approved")]
    below = _under_review(db, runtime)  # at or below the computed benefit no reason is asked
    assert assert_ok(_approve(client, below, officer, 6_000))["state"] == "approved"


def test_second_approver_above_the_configured_amount(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock,
        officers: tuple[dict[str, str], ...]) -> None:
    runtime.settings.claims.second_approval_above_yuan = 50  # 9,000 fen is above
    claim = _under_review(db, runtime)
    first, second = officers
    admin = _auth(client, clock, db, runtime, "admin")
    r = _approve(client, claim, first, 9_000)
    assert r.status_code == 202 and r.json()["state"] == "under_review"
    pending = r.json()["approvals"][0]
    assert pending["status"] == "pending" and pending["second_approver"] is None
    url = f"/staff/api/claims/{claim.id}/approvals/{pending['id']}/confirm"
    assert_error(client.post(url, json={"approved_amount_fen": 9_000}, headers=first), 403, "same_approver")
    assert_error(client.post(url, json={"approved_amount_fen": 9_000}, headers=admin), 403,
                 "second_approver_role")
    assert_error(client.post(url, json={"approved_amount_fen": 9_001}, headers=second), 409,
                 "amount_mismatch")
    done = assert_ok(client.post(url, json={"approved_amount_fen": 9_000}, headers=second))
    assert (done["state"], done["approved_amount_fen"]) == ("approved", 9_000)
    assert done["approvals"][0]["second_approver"] == _me(client, second)
    assert_error(client.post(url, json={"approved_amount_fen": 9_000}, headers=second), 409,
                 "approval_not_pending")
    a, b = _me(client, first), _me(client, second)
    assert _audit(db, claim) == [(a, "pending_second_approver"), (a, "refused: same_approver"),
                                 (_me(client, admin), "refused: second_approver_role"),
                                 (b, "refused: amount_mismatch"), (b, "confirmed")]


def test_a_supervisor_may_send_a_pending_amount_back(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock,
        officers: tuple[dict[str, str], ...]) -> None:
    runtime.settings.claims.second_approval_above_yuan = 50
    claim = _under_review(db, runtime)
    supervisor = _auth(client, clock, db, runtime, "supervisor")
    pending = _approve(client, claim, officers[0], 9_000).json()["approvals"][0]
    url = f"/staff/api/claims/{claim.id}/approvals/{pending['id']}/decline"
    assert_error(client.post(url, json={"reason": " "}, headers=supervisor), 400, "reason_required")
    back = assert_ok(client.post(url, json={"reason": "住院天数与出院记录不符"}, headers=supervisor))
    assert back["state"] == "under_review" and back["approvals"][0]["status"] == "declined"
    assert back["history"][-1]["kind"] == "approval_declined"


def test_payment_is_marked_by_another_person(client: TestClient, db: Session, runtime: Runtime,
                                             officers: tuple[dict[str, str], ...]) -> None:
    claim = _under_review(db, runtime)
    approver, payer = officers
    assert_ok(_approve(client, claim, approver, 9_000))
    url = f"/staff/api/claims/{claim.id}/transition"
    assert_error(client.post(url, json={"to_state": "paid"}, headers=approver), 403, "second_person_required")
    assert _audit(db, claim, "claim_payment") == [(_me(client, approver), "refused: second_person_required")]
    paid = assert_ok(client.post(url, json={"to_state": "paid"}, headers=payer))
    assert (paid["state"], paid["paid_amount_fen"]) == ("paid", 9_000)


def test_the_facts_the_amount_rests_on_are_checked(client: TestClient, db: Session, runtime: Runtime,
                                                   officers: tuple[dict[str, str], ...]) -> None:
    claim = _under_review(db, runtime)
    officer = officers[0]
    no_facts = {"to_state": "approved", "approved_amount_fen": 9_000}
    assert_error(client.post(f"/staff/api/claims/{claim.id}/transition", json=no_facts, headers=officer), 400,
                 "facts_required")
    future = {"admission": "2026-02-27", "discharge": "2026-03-05"}
    assert_error(_approve(client, claim, officer, 9_000, benefit_facts=future), 400)
    early = {"admission": "2026-02-20", "discharge": "2026-02-28"}
    assert_error(_approve(client, claim, officer, 9_000, benefit_facts=early), 400, "invalid_facts")
    assert_error(_approve(client, claim, officer, 0), 400, "amount_required")
    disability = _under_review(db, runtime, claim_type="disability")
    assert_error(_approve(client, disability, officer, 30_000, benefit_facts={"grade": 11}), 422,
                 "invalid_request")
    ok = assert_ok(_approve(client, disability, officer, 180_000, benefit_facts={"grade": 5}))  # 60 % of 3000
    assert ok["approvals"][0]["computed_fen"] == 180_000 and ok["approvals"][0]["ceiling_fen"] == 300_000
    death = _under_review(db, runtime, claim_type="transport_death")
    assert_error(_approve(client, death, officer, 5_000_000, benefit_facts={"transport": "ship",
                                                                           "operating": False}), 422,
                 "reason_required")  # a private boat pays as an ordinary death: 3,000 yuan


def test_hospital_allowance_counts_the_days_already_approved_this_year(db: Session, runtime: Runtime) -> None:
    """Each stay pays at most 90 days, a policy year at most 180, across the person's claims."""
    cipher, catalog = runtime.cipher, product_catalog()
    person = "44051419500312122"  # one insured person on every claim
    later = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
    stays = [(dt.date(2026, 1, 1), dt.date(2026, 3, 31)), (dt.date(2026, 4, 1), dt.date(2026, 6, 29)),
             (dt.date(2026, 7, 1), dt.date(2026, 7, 10))]
    claims = [_under_review(db, runtime, id_number=make_id(person), accident_date=dt.date(2026, 1, 1))
              for _ in stays]
    for claim, (admission, discharge) in zip(claims[:2], stays[:2], strict=True):
        out = approve(db, cipher, catalog, claim.id, amount_fen=270_000, now=later,
                      facts=BenefitFacts(admission=admission, discharge=discharge))
        assert (out.approval.allowance_days, out.approval.computed_fen) == (90, 270_000)
    third = BenefitFacts(admission=stays[2][0], discharge=stays[2][1])
    with pytest.raises(ServiceError) as exc:  # 180 days paid this year: the third stay computes 0
        approve(db, cipher, catalog, claims[2].id, amount_fen=30_000, facts=third, now=later)
    assert exc.value.code == "reason_required" and exc.value.detail["computed_fen"] == 0
    # A stay in the next policy year starts from zero again.
    next_year = _under_review(db, runtime, id_number=make_id(person), accident_date=dt.date(2026, 1, 1))
    out = approve(db, cipher, catalog, next_year.id, amount_fen=30_000,
                  now=dt.datetime(2027, 2, 1, tzinfo=dt.UTC),
                  facts=BenefitFacts(admission=dt.date(2027, 1, 5), discharge=dt.date(2027, 1, 14)))
    assert out.approval.computed_fen == 30_000 and out.approval.policy_year == 2027
