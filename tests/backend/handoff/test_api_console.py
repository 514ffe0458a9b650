"""The console's routes over the real queue: who may read what (A-02), the take race (A-06), audited
reads (A-04), masked lists (A-03), the agent's actions, the supervisor's agents and dashboard."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.claims import service as claims_svc
from backend.handoff.console_auth import CSRF_HEADER
from backend.handoff.models import AgentProfile, HandoffMessage, HandoffRequest
from backend.handoff.service import request_handoff
from backend.runtime import Runtime
from tests.backend.claims.support import calendar, make_id, report_kwargs
from tests.backend.staff.helpers import PASSWORD, Clock, assert_error, assert_ok, code_at, make_staff


class Console:
    """One browser: a real account of ``role`` logged in to the console with its own cookie jar."""

    def __init__(self, client: TestClient, db: Session, runtime: Runtime, clock: Clock, role: str,
                 groups: list[str] | None = None) -> None:
        self.client, self.clock = client, clock
        self.name = f"{role[:5]}{uuid.uuid4().hex[:8]}"
        enr = make_staff(db, runtime.cipher, self.name, role, now=clock.now - dt.timedelta(minutes=5))
        self.id = enr.staff.id
        if groups is not None:
            db.add(AgentProfile(staff_id=self.id, capacity=3, groups=groups, state="online"))
        db.flush()
        self.secret = enr.totp_secret
        self.cookie = ""
        self.csrf = ""
        self.login()

    def login(self) -> None:
        self.clock.advance(31)
        self.client.cookies.clear()
        r = self.client.post("/api/console/login", json={"username": self.name, "password": PASSWORD,
                                                         "totp": code_at(self.secret, self.clock.now)})
        assert r.status_code == 200, r.text
        self.cookie, self.csrf = r.cookies["console_session"], r.json()["csrf_token"]

    def _use(self) -> None:
        self.client.cookies.clear()
        self.client.cookies.set("console_session", self.cookie)

    def get(self, path: str) -> Any:
        self._use()
        return self.client.get(f"/api/console{path}")

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        self._use()
        return self.client.post(f"/api/console{path}", json=body or {}, headers={CSRF_HEADER: self.csrf})

    def put(self, path: str, body: dict[str, Any]) -> Any:
        self._use()
        return self.client.put(f"/api/console{path}", json=body, headers={CSRF_HEADER: self.csrf})


def _queued(db: Session, runtime: Runtime, clock: Clock, reason: str = "asked", **kw: Any) -> HandoffRequest:
    row = request_handoff(db, channel="official_account", user_id=f"o{uuid.uuid4().hex[:12]}", reason=reason,
                          summary="我要找人工，电话13812345678", cipher=runtime.cipher, now=clock.now, **kw)
    db.flush()
    return row


def _reads(db: Session, handoff_id: int) -> list[AuditRecord]:
    return list(db.scalars(select(AuditRecord).where(AuditRecord.object_type == "handoff",
                                                     AuditRecord.object_id == str(handoff_id),
                                                     AuditRecord.action == "read")))


def test_a02_agent_cannot_open_a_conversation_not_queued_for_their_groups_or_assigned_to_them(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    claims_agent = Console(client, db, runtime, clock, "agent", ["claims"])
    other = Console(client, db, runtime, clock, "agent", ["complaints", "general", "claims"])
    row = _queued(db, runtime, clock, reason="complaint")
    assert row.skill_group == "complaints"
    assert_error(claims_agent.get(f"/conversations/{row.id}"), 403, "forbidden")
    assert row.id not in [i["id"] for i in claims_agent.get("/queue").json()["items"]]
    assert row.id in [i["id"] for i in other.get("/queue").json()["items"]]
    assert other.post(f"/conversations/{row.id}/take").status_code == 200
    # assigned to someone else now: still refused, and the refusal is audited
    assert_error(claims_agent.get(f"/conversations/{row.id}"), 403, "forbidden")
    assert_error(claims_agent.post(f"/conversations/{row.id}/reply", {"text": "你好"}), 403)
    refused = [r for r in _reads(db, row.id) if r.result and r.result.startswith("refused")]
    assert refused and all(r.actor == claims_agent.name for r in refused)
    assert assert_ok(other.get(f"/conversations/{row.id}"))["handoff"]["agent_id"] == other.id


def test_a06_two_agents_take_the_same_chat_one_wins(client: TestClient, db: Session, runtime: Runtime,
                                                    clock: Clock) -> None:
    a = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    b = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    row = _queued(db, runtime, clock)
    first = a.post(f"/conversations/{row.id}/take")
    second = b.post(f"/conversations/{row.id}/take")
    assert first.status_code == 200, first.text
    assert_error(second, 409, "already_taken")
    db.refresh(row)
    assert row.agent_id == a.id and row.status == "agent"


def test_a03_a04_queue_is_masked_and_reading_a_conversation_is_audited(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    row = _queued(db, runtime, clock)
    clock.advance(130)
    items = assert_ok(agent.get("/queue"))["items"]
    [item] = [i for i in items if i["id"] == row.id]
    assert item["sla"] == "warn" and item["wait_s"] >= 130
    assert row.user_id not in agent.get("/queue").text
    assert agent.post(f"/conversations/{row.id}/take").status_code == 200
    assert _reads(db, row.id) == []
    view = assert_ok(agent.get(f"/conversations/{row.id}"))
    assert row.user_id not in str(view)
    [rec] = _reads(db, row.id)
    assert rec.actor == agent.name and rec.result in (None, "ok")


def test_a03_numbers_a_customer_typed_to_the_agent_are_masked_in_the_chat_view(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    from backend.handoff.customer import customer_message

    agent = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    row = _queued(db, runtime, clock)
    assert agent.post(f"/conversations/{row.id}/take").status_code == 200
    id_number = make_id()
    customer_message(db, channel=row.channel, user_id=row.user_id,
                     text=f"我电话13812345678，身份证{id_number}", now=clock.now, cipher=runtime.cipher)
    db.flush()
    view = agent.get(f"/conversations/{row.id}").text
    assert "13812345678" not in view and id_number not in view
    assert "138****5678" in view


def test_agent_replies_notes_and_closes(client: TestClient, db: Session, runtime: Runtime,
                                        clock: Clock) -> None:
    agent = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    row = _queued(db, runtime, clock)
    assert_error(agent.post(f"/conversations/{row.id}/reply", {"text": "您好"}), 409, "handoff_not_open")
    assert agent.post(f"/conversations/{row.id}/take").status_code == 200
    sent = agent.post(f"/conversations/{row.id}/reply", {"text": "您好，我来帮您"})
    assert sent.status_code == 200, sent.text
    assert agent.post(f"/conversations/{row.id}/note", {"text": "客户耳背，说慢点"}).status_code == 200
    msgs = list(db.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == row.id)))
    assert {m.direction for m in msgs} >= {"agent", "note"}
    assert all("您好" not in (m.text_enc or "") for m in msgs)  # encrypted at rest
    view = agent.get(f"/conversations/{row.id}").json()
    assert [m["text"] for m in view["messages"] if m["direction"] in ("agent", "note")][:2] == [
        "您好，我来帮您", "客户耳背，说慢点"]
    assert_error(agent.post(f"/conversations/{row.id}/close", {"disposition": "nonsense", "summary": "x"}),
                 422, "bad_disposition")
    closed = agent.post(f"/conversations/{row.id}/close", {"disposition": "resolved", "summary": "已解答"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"


def test_transfer_needs_a_note_and_one_target(client: TestClient, db: Session, runtime: Runtime,
                                              clock: Clock) -> None:
    a = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    b = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    row = _queued(db, runtime, clock)
    assert a.post(f"/conversations/{row.id}/take").status_code == 200
    assert a.post(f"/conversations/{row.id}/transfer", {"to_agent_id": b.id}).status_code == 422
    assert_error(a.post(f"/conversations/{row.id}/transfer", {"note": "x"}), 422, "bad_transfer")
    assert_error(a.post(f"/conversations/{row.id}/transfer", {"to_agent_id": b.id, "to_group": "claims",
                                                              "note": "x"}), 422, "bad_transfer")
    assert b.post("/heartbeat").status_code == 200  # b's console is open
    r = a.post(f"/conversations/{row.id}/transfer", {"to_agent_id": b.id, "note": "理赔问题请你跟"})
    assert r.status_code == 200, r.text
    assert assert_ok(b.get("/mine"))["items"][0]["id"] == row.id


def test_a_chat_is_transferred_only_to_a_colleague_who_can_answer_it_now(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    a = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    away = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    other_group = Console(client, db, runtime, clock, "agent", ["complaints"])
    full = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    officer = make_staff(db, runtime.cipher, f"off{uuid.uuid4().hex[:8]}", "claims_officer",
                         now=clock.now).staff
    boss = Console(client, db, runtime, clock, "supervisor")
    row = _queued(db, runtime, clock)
    assert a.post(f"/conversations/{row.id}/take").status_code == 200
    for c in (other_group, full):
        assert c.post("/heartbeat").status_code == 200
    db.get(AgentProfile, full.id).capacity = 1
    busy = _queued(db, runtime, clock)
    db.commit()
    assert full.post(f"/conversations/{busy.id}/take").status_code == 200

    def send(who: Console, to: int) -> Any:
        return who.post(f"/conversations/{row.id}/transfer", {"to_agent_id": to, "note": "请您跟进"})

    assert_error(send(a, 987654), 422, "bad_transfer_target")       # nobody
    assert_error(send(a, officer.id), 422, "bad_transfer_target")   # not a console role
    assert_error(send(a, a.id), 422, "bad_transfer_target")         # already theirs
    assert_error(send(a, away.id), 409, "agent_away")               # console closed: nobody would read it
    assert_error(send(a, other_group.id), 409, "agent_not_in_group")
    assert_error(send(a, full.id), 409, "agent_full")
    db.expire_all()
    assert (db.get(HandoffRequest, row.id).agent_id, db.get(HandoffRequest, row.id).status) == (a.id, "agent")
    # a supervisor decides: a present colleague of another group, or one at capacity, may be given it
    r = boss.post(f"/conversations/{row.id}/transfer", {"to_agent_id": full.id, "note": "主管指派"})
    assert r.status_code == 200, r.text
    assert_error(boss.post(f"/conversations/{row.id}/transfer", {"to_agent_id": away.id, "note": "x"}),
                 409, "agent_away")


def test_a02_supervisor_sees_all_takes_over_and_reads_the_dashboard(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    boss = Console(client, db, runtime, clock, "supervisor")
    row = _queued(db, runtime, clock)
    assert agent.post(f"/conversations/{row.id}/take").status_code == 200
    assert_error(agent.get("/dashboard"), 403, "forbidden")
    assert_error(agent.get("/agents"), 403, "forbidden")
    assert boss.get(f"/conversations/{row.id}").status_code == 200
    assert boss.post(f"/conversations/{row.id}/take").status_code == 200
    db.refresh(row)
    assert row.agent_id == boss.id
    dash = assert_ok(boss.get("/dashboard"))
    assert dash["handoffs_today"] >= 1 and "buckets" in dash and "at_risk" in dash
    assert dash["timezone"] == runtime.settings.timezone == "Asia/Shanghai"  # the charts' bucket times
    assert {"frt_p90_s", "within_3min_share"} <= set(dash["buckets"][-1])
    assert boss.put(f"/agents/{agent.id}/capacity", {"capacity": 5}).status_code == 200
    profile = db.get(AgentProfile, agent.id)
    assert profile is not None and profile.capacity == 5
    [rec] = db.scalars(select(AuditRecord).where(AuditRecord.action == "handoff.capacity",
                                                  AuditRecord.object_id == str(agent.id)))
    assert (rec.actor, rec.object_type, rec.purpose, rec.result) == (boss.name, "staff", "5", "ok")
    assert_error(agent.put(f"/agents/{agent.id}/capacity", {"capacity": 9}), 403)


def test_presence_and_heartbeat(client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent = Console(client, db, runtime, clock, "agent", ["general"])
    assert agent.post("/presence", {"state": "busy"}).status_code == 200
    assert agent.post("/heartbeat").status_code == 200
    assert agent.post("/presence", {"state": "sleeping"}).status_code == 422
    boss = Console(client, db, runtime, clock, "supervisor")
    states = {a["staff_id"]: a["state"] for a in boss.get("/agents").json()["items"]}
    assert states.get(agent.id) == "busy"


def test_a03_a04_reveal_from_the_console_needs_a_reason_and_is_audited_refusals_too(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    id_number = make_id()
    claim = claims_svc.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                    **report_kwargs(insured_id_number=id_number,
                                                    reporter_phone="13912345678"))
    db.flush()
    req = {"object_type": "claim", "object_id": claim.id, "field": "insured_id_number"}
    agent = Console(client, db, runtime, clock, "agent", ["general"])
    assert_error(agent.post("/reveal", dict(req, reason="核对客户身份")), 403, "forbidden")
    boss = Console(client, db, runtime, clock, "supervisor")
    assert_error(boss.post("/reveal", dict(req, reason="看")), 422, "reason_required")
    r = boss.post("/reveal", dict(req, reason="核对客户身份"))
    assert r.status_code == 200 and r.json()["value"] == id_number
    results = [a.result for a in db.scalars(select(AuditRecord).where(
        AuditRecord.action == "reveal", AuditRecord.object_id == str(claim.id)))]
    assert sorted(results) == sorted(["refused: forbidden", "refused: reason_required", "ok"])


def test_a03_reveals_from_the_console_are_throttled_per_staff_member_with_retry_after(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    runtime.settings.auth.reveals_per_window = 2
    claim = claims_svc.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                    **report_kwargs(insured_id_number=make_id()))
    db.flush()
    req = {"object_type": "claim", "object_id": claim.id, "field": "insured_id_number",
           "reason": "核对客户身份"}
    boss = Console(client, db, runtime, clock, "supervisor")
    assert [boss.post("/reveal", req).status_code for _ in range(2)] == [200, 200]
    r = boss.post("/reveal", req)
    assert_error(r, 429, "reveal_throttled")
    window_s = runtime.settings.auth.reveal_window_s
    assert "value" not in r.json() and 0 < int(r.headers["Retry-After"]) <= window_s
    other = Console(client, db, runtime, clock, "supervisor")
    assert other.post("/reveal", req).status_code == 200  # counted per person
    results = [a.result for a in db.scalars(select(AuditRecord).where(
        AuditRecord.action == "reveal", AuditRecord.object_id == str(claim.id)).order_by(AuditRecord.seq))]
    assert results == ["ok", "ok", "refused: reveal_throttled", "ok"]


def test_conversation_shows_the_bot_turns_with_intent_and_confidence(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    from backend.conversations.turn_models import PURPOSE_REPLY_TEXT, PURPOSE_USER_TEXT, ConversationTurn

    agent = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    row = _queued(db, runtime, clock)
    db.add(ConversationTurn(channel=row.channel, user_id=row.user_id, at=clock.now - dt.timedelta(minutes=1),
                            intent="human", confidence=0.93, slots={},
                            user_text_enc=runtime.cipher.encrypt("我要找人工", purpose=PURPOSE_USER_TEXT),
                            reply_text_enc=runtime.cipher.encrypt("好的，马上请同事来",
                                                                  purpose=PURPOSE_REPLY_TEXT)))
    db.flush()
    assert agent.post(f"/conversations/{row.id}/take").status_code == 200
    msgs = assert_ok(agent.get(f"/conversations/{row.id}"))["messages"]
    assert [(m["direction"], m["text"], m["intent"]) for m in msgs[:2]] == [
        ("customer", "我要找人工", "human"), ("bot", "好的，马上请同事来", "human")]
    assert msgs[0]["confidence"] == 0.93


def test_going_online_is_audited_published_and_gets_a_waiting_chat(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock, redis_client: Any) -> None:
    from backend.handoff import events

    row = _queued(db, runtime, clock)
    agent = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    start = events.last_id(redis_client)
    assert agent.post("/presence", {"state": "online"}).status_code == 200
    db.refresh(row)
    assert row.status == "agent" and row.agent_id == agent.id  # assigned at once
    got, _ = events.read_after(redis_client, start)
    assert ("agent.state", {"staff_id": agent.id, "state": "online"}) in [(e.type, e.data) for e in got]
    assert any(e.type == "handoff.assigned" and e.data["handoff_id"] == row.id for e in got)
    states = db.scalars(select(AuditRecord).where(AuditRecord.action == "handoff.agent_state",
                                                  AuditRecord.actor == agent.name)).all()
    assert [s.purpose for s in states] == ["online"]
