"""The chat view's case actions over the real queue, claims and complaints domains: a complaint or a
claim report created from a chat (the domains' checks, deadlines, encryption and consent ledger),
claim moves only where the role allows (never offered otherwise), only by the agent who has the chat
(A-02), every action audited (A-04) and the confirmation sent through the normal reply path."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.claims import service as claims_svc
from backend.claims.models import PURPOSE_INSURED_ID, Claim
from backend.complaints.models import PURPOSE_COMPLAINT_PHONE, Complaint
from backend.errors import ServiceError
from backend.handoff.messages import add_message
from backend.handoff.models import HandoffMessage, HandoffRequest
from backend.jobs.models import Job
from backend.privacy.models import ConsentEvent
from backend.runtime import Runtime
from backend.security.masking import mask_phone
from tests.backend.claims.support import calendar, make_id, report_kwargs
from tests.backend.handoff.test_api_console import Console, _queued
from tests.backend.staff.helpers import Clock, Staff, assert_error, assert_ok
from tests.support.pii import find_pii

ALL = ["general", "claims", "complaints"]
PHONE = "13812345678"


def _taken(client: TestClient, db: Session, runtime: Runtime, clock: Clock,
           role: str = "agent") -> tuple[Console, HandoffRequest]:
    agent = Console(client, db, runtime, clock, role, ALL if role == "agent" else None)
    row = _queued(db, runtime, clock, reason="complaint")
    add_message(db, row=row, direction="customer", text=f"理赔拖了两个月还没到账，我电话{PHONE}",
                cipher=runtime.cipher, now=clock.now)
    db.flush()
    assert agent.post(f"/conversations/{row.id}/take").status_code == 200
    return agent, row


def _created(r: Any) -> dict[str, Any]:
    """201, and no clear ID number or phone in the answer."""
    assert r.status_code == 201, r.text
    assert find_pii(r.text) == [], find_pii(r.text)
    out: dict[str, Any] = r.json()
    return out


def _view(console: Console, row: HandoffRequest) -> dict[str, Any]:
    """The chat view (the transcript shows what the customer wrote, their phone included)."""
    r = console.get(f"/conversations/{row.id}")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _complaint_body(**kw: Any) -> dict[str, Any]:
    body = {"category": "claim_speed", "content": "理赔拖了两个月还没到账", "contact_phone": PHONE}
    body.update(kw)
    return body


def _claim_body(**kw: Any) -> dict[str, Any]:
    body = {"claim_type": "hospital_allowance", "insured_name": "陈阿婆", "insured_id_number": make_id(),
            "consent_confirmed": True, "reporter_phone": PHONE, "reporter_relation": "daughter",
            "accident_date": "2026-02-27", "accident_type": "fall", "description": "在家里摔倒，住院了"}
    body.update(kw)
    return body


def _audits(db: Session, action: str, object_type: str = "handoff",
            object_id: int | None = None) -> list[AuditRecord]:
    q = select(AuditRecord).where(AuditRecord.action == action, AuditRecord.object_type == object_type)
    if object_id is not None:
        q = q.where(AuditRecord.object_id == str(object_id))
    return list(db.scalars(q))


def _customer_claim(db: Session, runtime: Runtime, row: HandoffRequest) -> Claim:
    claim = claims_svc.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                    **report_kwargs(reporter_openid=row.user_id))
    db.flush()
    return claim


def test_complaint_from_the_chat_is_in_the_complaints_list_with_its_deadlines_and_audited(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock, staff: Staff) -> None:
    agent, row = _taken(client, db, runtime, clock)
    cases = assert_ok(agent.get(f"/conversations/{row.id}/cases"))
    assert cases["can_act"] is True and cases["complaints"] == []
    prefill = cases["prefill"]
    assert prefill["contact_phone_masked"] == mask_phone(PHONE) and prefill["category"] == "claim_speed"
    assert "理赔拖了两个月" in prefill["content"] and PHONE not in prefill["content"]
    assert prefill["severity"] == "normal"  # handed over for a complaint, not angry
    assert cases["default_disposition"] is None
    # the phone the customer gave in the chat, taken server-side (never sent to the browser in clear)
    r = agent.post(f"/conversations/{row.id}/complaints", _complaint_body(contact_phone=None,
                                                                          use_chat_phone=True))
    out = _created(r)
    number = out["complaint"]["complaint_no"]
    assert number.startswith("TS") and number in out["confirmation"]
    c = db.scalar(select(Complaint).where(Complaint.complaint_no == number))
    assert c is not None and c.openid == row.user_id and c.channel == "official_account"
    assert runtime.cipher.decrypt(c.contact_phone_enc, purpose=PURPOSE_COMPLAINT_PHONE) == PHONE
    assert c.ack_due_at == clock.now + dt.timedelta(hours=24)
    assert out["complaint"]["resolution_due_date"] == c.resolution_due_date.isoformat()
    assert c.resolution_due_date > (clock.now + dt.timedelta(days=15)).date()  # 15 working days
    # the staff's complaints list (the complaints domain's own route) has it, masked
    listed = assert_ok(client.get("/staff/api/complaints", headers=staff("claims_officer")))["items"]
    assert number in [i["complaint_no"] for i in listed]
    # audited, noted in the chat, and closing now defaults to "created a complaint"
    [rec] = _audits(db, "handoff.complaint_created", object_id=row.id)
    assert rec.actor == agent.name and rec.purpose == number and rec.result == "ok"
    notes = [m for m in db.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == row.id,
                                                              HandoffMessage.direction == "note"))]
    assert len(notes) == 1
    cases = assert_ok(agent.get(f"/conversations/{row.id}/cases"))
    assert [x["complaint_no"] for x in cases["complaints"]] == [number]
    assert cases["default_disposition"] == "complaint_created"


def test_complaint_from_the_chat_has_the_domains_checks(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent, row = _taken(client, db, runtime, clock)
    assert_error(agent.post(f"/conversations/{row.id}/complaints", _complaint_body(contact_phone="123")),
                 400, "invalid_phone")
    assert_error(agent.post(f"/conversations/{row.id}/complaints", _complaint_body(category="nonsense")),
                 400, "invalid_category")
    assert_error(agent.post(f"/conversations/{row.id}/complaints", _complaint_body(content=" ")), 400)
    assert_error(agent.post(f"/conversations/{row.id}/complaints", _complaint_body(contact_phone="")), 400,
                 "invalid_phone")
    assert db.scalar(select(Complaint).where(Complaint.openid == row.user_id)) is None
    assert _audits(db, "handoff.complaint_created", object_id=row.id) == []
    # an angry customer's complaint is prefilled as serious, as the bot files it
    angry = _queued(db, runtime, clock, reason="angry")
    assert assert_ok(agent.get(f"/conversations/{angry.id}/cases"))["prefill"]["severity"] == "serious"


def test_confirmation_goes_out_as_the_agents_reply(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent, row = _taken(client, db, runtime, clock)
    created = _created(agent.post(f"/conversations/{row.id}/complaints", _complaint_body()))
    cid = created["complaint"]["id"]
    sent = agent.post(f"/conversations/{row.id}/confirm", {"kind": "complaint", "case_id": cid})
    assert sent.status_code == 200, sent.text
    msg = db.get(HandoffMessage, sent.json()["id"])
    assert msg is not None and msg.direction == "agent" and msg.delivery == "pending"
    text = runtime.cipher.decrypt(msg.text_enc, purpose="handoff.message")
    assert created["complaint"]["complaint_no"] in text and text == created["confirmation"]
    job = db.scalar(select(Job).where(Job.kind == "handoff.deliver", Job.key == str(msg.id)))
    assert job is not None  # the delivery job: the same path (and quota count) as every reply
    db.refresh(row)
    assert row.first_response_at is not None
    # only this customer's cases: another customer's complaint is not found from this chat
    other, other_row = _taken(client, db, runtime, clock)
    assert_error(other.post(f"/conversations/{other_row.id}/confirm", {"kind": "complaint", "case_id": cid}),
                 404, "complaint_not_found")


def test_claim_from_the_chat_is_encrypted_and_the_consent_is_in_the_ledger(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent, row = _taken(client, db, runtime, clock)
    id_number = make_id("44051419400202123")
    r = agent.post(f"/conversations/{row.id}/claims", _claim_body(insured_id_number=id_number))
    out = _created(r)
    claim = db.get(Claim, out["claim"]["id"])
    assert claim is not None and out["claim"]["case_no"] == claim.case_no in out["confirmation"]
    assert claim.reporter_openid == row.user_id and claim.channel == "official_account"
    assert claim.insured_id_enc and id_number not in claim.insured_id_enc
    assert runtime.cipher.decrypt(claim.insured_id_enc, purpose=PURPOSE_INSURED_ID) == id_number
    assert id_number not in r.text
    [consent] = db.scalars(select(ConsentEvent).where(ConsentEvent.user_id == row.user_id))
    assert consent.granted and consent.category == "id_number" and consent.actor == agent.name
    assert consent.channel == "official_account"
    [rec] = _audits(db, "handoff.claim_created", object_id=row.id)
    assert rec.purpose == claim.case_no and rec.actor == agent.name
    assert assert_ok(agent.get(f"/conversations/{row.id}/cases"))["default_disposition"] == "claim_created"


@pytest.mark.parametrize(("field", "value"), [("insured_id_number", "440514195301011239"),
                                              ("insured_id_number", "12345"),
                                              ("reporter_phone", "1381234"),
                                              ("claim_type", "nonsense"),
                                              ("accident_date", "2030-01-01")])
def test_claim_from_the_chat_has_the_same_errors_as_the_other_channels(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock, field: str, value: str) -> None:
    agent, row = _taken(client, db, runtime, clock)
    r = agent.post(f"/conversations/{row.id}/claims", _claim_body(**{field: value}))
    kwargs = report_kwargs(channel="official_account", reporter_openid=row.user_id, now=clock.now,
                           insured_id_number=make_id(), reporter_phone=PHONE)
    kwargs[field] = dt.date.fromisoformat(value) if field == "accident_date" else value
    with pytest.raises(ServiceError) as domain, db.begin_nested():  # the bot's and the mini-program's path
        claims_svc.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                **kwargs)
    body = assert_error(r, domain.value.status_code, domain.value.code)
    assert body["message"] == domain.value.message and body["detail"] == domain.value.detail
    assert value not in r.text or field == "claim_type"  # never echoes private input
    assert db.scalar(select(Claim).where(Claim.reporter_openid == row.user_id)) is None
    assert db.scalar(select(ConsentEvent).where(ConsentEvent.user_id == row.user_id)) is None


def test_claim_with_an_id_number_needs_the_agents_consent_confirmation(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent, row = _taken(client, db, runtime, clock)
    assert_error(agent.post(f"/conversations/{row.id}/claims", _claim_body(consent_confirmed=False)),
                 422, "consent_unconfirmed")
    assert db.scalar(select(ConsentEvent).where(ConsentEvent.user_id == row.user_id)) is None
    # without an ID number (it comes with the materials, as in the bot) no consent is needed
    r = agent.post(f"/conversations/{row.id}/claims", _claim_body(insured_id_number=None,
                                                                   consent_confirmed=False))
    assert r.status_code == 201, r.text


def test_a02_only_the_agent_who_has_the_chat_may_act(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    holder, row = _taken(client, db, runtime, clock)
    other = Console(client, db, runtime, clock, "agent", ALL)
    assert_error(other.post(f"/conversations/{row.id}/complaints", _complaint_body()), 403, "forbidden")
    assert_error(other.post(f"/conversations/{row.id}/claims", _claim_body()), 403, "forbidden")
    assert_error(other.get(f"/conversations/{row.id}/cases"), 403, "forbidden")
    # a queued chat the agent may read (their group) but has not taken: reading yes, acting no
    waiting = _queued(db, runtime, clock)
    cases = assert_ok(other.get(f"/conversations/{waiting.id}/cases"))
    assert cases["can_act"] is False
    assert_error(other.post(f"/conversations/{waiting.id}/complaints", _complaint_body()), 403,
                 "not_your_conversation")
    refused = _audits(db, "handoff.complaint_created", object_id=waiting.id)
    assert [(a.actor, a.result) for a in refused] == [(other.name, "refused: not_your_conversation")]
    assert db.scalar(select(Complaint).where(Complaint.openid.in_((row.user_id, waiting.user_id)))) is None
    # a supervisor may act on any chat
    boss = Console(client, db, runtime, clock, "supervisor")
    assert boss.post(f"/conversations/{row.id}/complaints", _complaint_body()).status_code == 201
    assert holder.id != boss.id


def test_a02_an_agent_is_offered_no_claim_move_and_is_refused_one(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent, row = _taken(client, db, runtime, clock)
    claim = _customer_claim(db, runtime, row)
    [listed] = assert_ok(agent.get(f"/conversations/{row.id}/cases"))["claims"]
    assert listed["id"] == claim.id and listed["moves"] == []
    [in_view] = _view(agent, row)["claims"]
    assert in_view["id"] == claim.id and in_view["moves"] == []
    r = agent.post(f"/conversations/{row.id}/claims/{claim.id}/transition", {"to_state": "materials_pending"})
    assert_error(r, 403, "forbidden")
    db.refresh(claim)
    assert claim.state == "reported"
    [rec] = _audits(db, "handoff.claim_move", "claim", claim.id)
    assert rec.result == "refused: forbidden" and rec.actor == agent.name


def test_a_supervisor_moves_a_claim_only_along_the_state_machine(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    boss, row = _taken(client, db, runtime, clock, role="supervisor")
    claim = _customer_claim(db, runtime, row)
    [listed] = assert_ok(boss.get(f"/conversations/{row.id}/cases"))["claims"]
    moves = {m["to"]: m for m in listed["moves"]}
    assert set(moves) == {"materials_pending", "withdrawn"} and moves["withdrawn"]["needs_reason"]
    [in_view] = _view(boss, row)["claims"]
    assert in_view["moves"] == ["materials_pending", "withdrawn"]
    assert_error(boss.post(f"/conversations/{row.id}/claims/{claim.id}/transition", {"to_state": "paid"}),
                 409, "invalid_transition")
    move = f"/conversations/{row.id}/claims/{claim.id}/transition"
    assert_error(boss.post(move, {"to_state": "withdrawn"}), 400, "reason_required")
    r = boss.post(f"/conversations/{row.id}/claims/{claim.id}/transition",
                  {"to_state": "materials_pending", "expected_version": listed["version"]})
    assert r.status_code == 200, r.text
    assert r.json()["claim"]["state"] == "materials_pending" and r.json()["outcome"] == "done"
    assert {m["to"] for m in r.json()["claim"]["moves"]} == {"under_review", "withdrawn"}
    ok = [a for a in _audits(db, "handoff.claim_move", "claim", claim.id) if a.result == "ok"]
    assert len(ok) == 1 and ok[0].actor == boss.name
    # a claim of another customer cannot be moved from this chat
    stranger = claims_svc.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog,
                                       calendar=calendar(), **report_kwargs(reporter_openid="ostranger"))
    db.flush()
    assert_error(boss.post(f"/conversations/{row.id}/claims/{stranger.id}/transition",
                           {"to_state": "materials_pending"}), 404, "claim_not_found")


def test_approving_from_the_chat_keeps_the_second_approver_rule(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    runtime.settings.claims.second_approval_above_yuan = 50  # 90 yuan is above: a second person confirms
    boss, row = _taken(client, db, runtime, clock, role="supervisor")
    claim = _customer_claim(db, runtime, row)
    for step in ("materials_pending", "under_review"):
        if step == "under_review":
            for m in claim.materials:
                m.received = True
        claims_svc.transition_claim(db, cipher=runtime.cipher, calendar=calendar(), claim_id=claim.id,
                                    to_state=step, actor="staff:1", reason=None, now=clock.now)
    db.flush()
    move = f"/conversations/{row.id}/claims/{claim.id}/transition"
    stay = {"admission": "2026-02-27", "discharge": "2026-03-01"}  # 3 days × 30 yuan
    over = boss.post(move, {"to_state": "approved", "approved_amount_fen": 10**9, "benefit_facts": stay})
    assert_error(over, 422, "amount_over_limit")
    r = boss.post(move, {"to_state": "approved", "approved_amount_fen": 9_000, "benefit_facts": stay})
    assert r.status_code == 202, r.text
    assert r.json()["outcome"] == "pending" and r.json()["claim"]["state"] == "under_review"
    db.refresh(claim)
    assert claim.state == "under_review" and claim.approved_amount_fen is None
    results = [a.result for a in _audits(db, "handoff.claim_move", "claim", claim.id)]
    assert results == ["pending"]
    refused = [a.result for a in _audits(db, "claim_approval", "claim", claim.id)]
    assert "refused: amount_over_limit" in refused


def test_a_web_chat_complaint_is_recorded_as_channel_other_with_its_checks(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    from backend.handoff.service import request_handoff

    agent = Console(client, db, runtime, clock, "agent", ALL)
    row = request_handoff(db, channel="web", user_id="webtest-" + str(clock.now.timestamp()), reason="asked",
                          summary="我要投诉", cipher=runtime.cipher, now=clock.now)
    db.flush()
    assert agent.post(f"/conversations/{row.id}/take").status_code == 200
    # outside WeChat the domain asks for the complainant's name (no account to reach them through)
    assert_error(agent.post(f"/conversations/{row.id}/complaints", _complaint_body()), 400)
    named = _complaint_body(complainant_name="陈伯")
    out = _created(agent.post(f"/conversations/{row.id}/complaints", named))
    c = db.get(Complaint, out["complaint"]["id"])
    assert c is not None and c.channel == "other" and c.openid == row.user_id


def test_a03_the_side_panel_shows_private_values_masked_and_offers_reveal_only_to_roles_that_may(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    """The panel's 查看 is the reveal route's: the fields it can reveal, masked, and only for the roles
    it serves (an agent is refused by the route, so none is offered)."""
    agent, row = _taken(client, db, runtime, clock)
    id_number = make_id()
    claim = claims_svc.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                    **report_kwargs(reporter_openid=row.user_id, insured_id_number=id_number,
                                                    reporter_phone=PHONE))
    db.flush()
    cases = assert_ok(agent.get(f"/conversations/{row.id}/cases"))
    assert cases["can_reveal"] is False
    [listed] = cases["claims"]
    assert listed["id"] == claim.id
    assert [(p["field"], p["masked"]) for p in listed["private"]] == [
        ("insured_id_number", id_number[:4] + "*" * 10 + id_number[-4:]), ("reporter_phone", "138****5678")]
    r = agent.get(f"/conversations/{row.id}/cases")
    assert id_number not in r.text and PHONE not in r.text
    boss = Console(client, db, runtime, clock, "supervisor")
    assert assert_ok(boss.get(f"/conversations/{row.id}/cases"))["can_reveal"] is True
    for p in listed["private"]:  # every field offered is one the route reveals
        r = boss.post("/reveal", {"object_type": "claim", "object_id": claim.id, "field": p["field"],
                                  "reason": "核对客户身份"})
        assert r.status_code == 200, r.text
