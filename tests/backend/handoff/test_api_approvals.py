"""The second approver's step from the chat view, over the real claims domain, queue and Redis: an amount
above the configured limit proposed from the chat waits (pending); another supervisor in the chat sees
it with the computed amount and the ceiling and confirms it (typing it again) or sends it back with a
reason; the proposer, an agent and a role that may not approve are refused (A-02), and every decision and
refusal is audited (A-04) and published so the proposer's panel updates."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims import service as claims_svc
from backend.claims.materials import mark_material
from backend.claims.models import Claim, ClaimApproval
from backend.handoff import events
from backend.runtime import Runtime
from tests.backend.claims.support import calendar
from tests.backend.handoff.test_api_actions import ALL, _audits, _customer_claim, _taken
from tests.backend.handoff.test_api_console import Console
from tests.backend.staff.helpers import Clock, assert_error, assert_ok

AMOUNT = 9_000  # 90 yuan: 3 days × 30 yuan, above the 50 yuan limit set below
STAY = {"admission": "2026-02-27", "discharge": "2026-03-01"}


def _under_review(db: Session, runtime: Runtime, clock: Clock, claim: Claim) -> None:
    for step in ("materials_pending", "under_review"):
        if step == "under_review":
            for m in claim.materials:
                m.received = True
        claims_svc.transition_claim(db, cipher=runtime.cipher, calendar=calendar(), claim_id=claim.id,
                                    to_state=step, actor="staff:1", reason=None, now=clock.now)
    db.flush()


def _proposed(client: TestClient, db: Session, runtime: Runtime, clock: Clock,
              holder_role: str = "supervisor") -> tuple[Console, Console, Any, Claim, ClaimApproval]:
    """The holder of the chat (or, for an agent's chat, a supervisor watching it) proposes 90 yuan
    from the chat: pending. Returns (holder, proposer, row, claim, approval)."""
    runtime.settings.claims.second_approval_above_yuan = 50
    holder, row = _taken(client, db, runtime, clock, role=holder_role)
    proposer = holder if holder_role == "supervisor" else Console(client, db, runtime, clock, "supervisor")
    claim = _customer_claim(db, runtime, row)
    _under_review(db, runtime, clock, claim)
    r = proposer.post(f"/conversations/{row.id}/claims/{claim.id}/transition",
                      {"to_state": "approved", "approved_amount_fen": AMOUNT, "benefit_facts": STAY})
    assert r.status_code == 202, r.text
    approval = db.scalar(select(ClaimApproval).where(ClaimApproval.claim_id == claim.id))
    assert approval is not None and approval.status == "pending"
    return holder, proposer, row, claim, approval


def _listed(console: Console, row: Any) -> dict[str, Any]:
    [claim] = assert_ok(console.get(f"/conversations/{row.id}/cases"))["claims"]
    out: dict[str, Any] = claim
    return out


def _decide(console: Console, row: Any, claim: Claim, approval: ClaimApproval, what: str,
            body: dict[str, Any]) -> Any:
    return console.post(f"/conversations/{row.id}/claims/{claim.id}/approvals/{approval.id}/{what}", body)


def _moved(runtime: Runtime, claim: Claim) -> list[dict[str, Any]]:
    return [e.data for e in events.read_after(runtime.redis, "0-0")[0]
            if e.type == "handoff.claim_moved" and e.data.get("claim_id") == claim.id]


def test_a_second_supervisor_confirms_the_pending_amount_from_the_chat(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    proposer, _, row, claim, approval = _proposed(client, db, runtime, clock)
    mine = _listed(proposer, row)["pending_approval"]
    assert mine == {"id": approval.id, "amount_fen": AMOUNT, "computed_fen": AMOUNT,
                    "ceiling_fen": approval.ceiling_fen, "proposed_by": proposer.name,
                    "proposed_at": mine["proposed_at"], "may_decide": False,  # not one's own amount
                    "stale": False}
    assert approval.ceiling_fen > AMOUNT
    second = Console(client, db, runtime, clock, "supervisor")
    assert _listed(second, row)["pending_approval"]["may_decide"] is True

    r = _decide(second, row, claim, approval, "confirm", {"approved_amount_fen": AMOUNT,
                                                          "expected_version": claim.version})
    out = assert_ok(r)
    assert out["outcome"] == "done" and out["claim"]["state"] == "approved"
    assert out["claim"]["pending_approval"] is None and out["claim"]["approved_amount_fen"] == AMOUNT
    db.refresh(claim)
    db.refresh(approval)
    assert claim.state == "approved" and claim.approved_amount_fen == AMOUNT
    assert approval.status == "approved" and approval.second_approver == second.name
    [rec] = _audits(db, "handoff.claim_approval", "claim", claim.id)
    assert (rec.actor, rec.result) == (second.name, "ok") and f"handoff:{row.id}" in (rec.purpose or "")
    assert "confirmed" in [a.result for a in _audits(db, "claim_approval", "claim", claim.id)]
    published = {"handoff_id": row.id, "claim_id": claim.id, "to": "approved", "outcome": "done"}
    assert published in _moved(runtime, claim)
    assert _listed(proposer, row)["pending_approval"] is None


def test_the_proposer_cannot_confirm_their_own_amount_nor_anyone_another_amount_or_a_stale_one(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    proposer, _, row, claim, approval = _proposed(client, db, runtime, clock)
    err = assert_error(_decide(proposer, row, claim, approval, "confirm", {"approved_amount_fen": AMOUNT}),
                       403, "same_approver")
    assert "另一位" in err["message"]
    second = Console(client, db, runtime, clock, "supervisor")
    assert_error(_decide(second, row, claim, approval, "confirm", {"approved_amount_fen": AMOUNT + 100}),
                 409, "amount_mismatch")
    assert_error(_decide(second, row, claim, approval, "confirm",
                         {"approved_amount_fen": AMOUNT, "expected_version": claim.version + 1}),
                 409, "version_conflict")
    # the claim changed after the amount was proposed (a material found missing: back to waiting for
    # materials): the proposal is stale, shown so, and refused
    mark_material(db, cipher=runtime.cipher, claim_id=claim.id, material_id=claim.materials[0].material_id,
                  received=False, actor="staff:1", now=clock.now, calendar=calendar())
    db.flush()
    pending = _listed(second, row)["pending_approval"]
    assert pending["stale"] is True and pending["may_decide"] is False
    assert_error(_decide(second, row, claim, approval, "confirm", {"approved_amount_fen": AMOUNT}),
                 409, "approval_stale")
    db.refresh(claim)
    db.refresh(approval)
    assert claim.state == "materials_pending" and claim.approved_amount_fen is None
    assert approval.status == "pending" and approval.second_approver is None
    refused = [(a.actor, a.result) for a in _audits(db, "handoff.claim_approval", "claim", claim.id)]
    assert refused == [(proposer.name, "refused: same_approver"), (second.name, "refused: amount_mismatch"),
                       (second.name, "refused: version_conflict"), (second.name, "refused: approval_stale")]
    domain = [a.result for a in _audits(db, "claim_approval", "claim", claim.id)]
    assert "refused: same_approver" in domain and "refused: amount_mismatch" in domain
    assert not [e for e in _moved(runtime, claim) if e.get("outcome") != "pending"]


def test_a_decline_needs_a_reason_and_leaves_the_claim_under_review(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    # an agent has the chat, a supervisor watching it proposed; another supervisor sends it back
    _, proposer, row, claim, approval = _proposed(client, db, runtime, clock, holder_role="agent")
    second = Console(client, db, runtime, clock, "supervisor")
    for body in ({}, {"reason": "  "}):
        err = assert_error(_decide(second, row, claim, approval, "decline", body), 400, "reason_required")
        assert err["message"] == "请填写退回的原因"
    db.refresh(approval)
    assert approval.status == "pending"
    out = assert_ok(_decide(second, row, claim, approval, "decline", {"reason": "住院天数和出院小结对不上"}))
    assert out["outcome"] == "declined" and out["claim"]["state"] == "under_review"
    assert out["claim"]["pending_approval"] is None
    assert "approved" in [m["to"] for m in out["claim"]["moves"]]  # the proposer may propose again
    db.refresh(claim)
    db.refresh(approval)
    assert claim.state == "under_review" and claim.approved_amount_fen is None
    assert approval.status == "declined" and approval.second_approver == second.name
    results = [(a.actor, a.result) for a in _audits(db, "handoff.claim_approval", "claim", claim.id)]
    assert results == [(second.name, "refused: reason_required")] * 2 + [(second.name, "ok")]
    assert "declined" in [a.result for a in _audits(db, "claim_approval", "claim", claim.id)]
    assert {"handoff_id": row.id, "claim_id": claim.id, "to": "under_review",
            "outcome": "declined"} in _moved(runtime, claim)
    # decided: a second decision is refused
    assert_error(_decide(proposer, row, claim, approval, "confirm", {"approved_amount_fen": AMOUNT}),
                 409, "approval_not_pending")


def test_a02_an_agent_or_a_role_that_may_not_approve_is_refused(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent, proposer, row, claim, approval = _proposed(client, db, runtime, clock, holder_role="agent")
    listed = _listed(agent, row)
    assert listed["pending_approval"]["may_decide"] is False and listed["moves"] == []
    assert_error(_decide(agent, row, claim, approval, "confirm", {"approved_amount_fen": AMOUNT}),
                 403, "forbidden")
    assert_error(_decide(agent, row, claim, approval, "decline", {"reason": "不对"}), 403, "forbidden")
    # an agent who does not have the chat cannot even read it
    other = Console(client, db, runtime, clock, "agent", ALL)
    assert_error(_decide(other, row, claim, approval, "decline", {"reason": "不对"}), 403, "forbidden")
    # an admin may move claims but is not a second approver (the claims domain's rule)
    admin = Console(client, db, runtime, clock, "admin")
    assert _listed(admin, row)["pending_approval"]["may_decide"] is False
    assert_error(_decide(admin, row, claim, approval, "confirm", {"approved_amount_fen": AMOUNT}),
                 403, "second_approver_role")
    db.refresh(claim)
    db.refresh(approval)
    assert claim.state == "under_review" and approval.status == "pending"
    refused = [(a.actor, a.result) for a in _audits(db, "handoff.claim_approval", "claim", claim.id)]
    assert refused == [(agent.name, "refused: forbidden"), (agent.name, "refused: forbidden"),
                       (admin.name, "refused: second_approver_role")]
    assert proposer.name != agent.name
