"""The console's 待办 (work items) over the real database and Redis: a call-back left outside hours shows
from the next working morning, a low rating's follow-up is a supervisor's, an agent sees only their
groups' items, one of two staff racing to take one wins (A-06), and finishing one closes it with its
outcome, audited and published, and takes it off the list."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.handoff import events
from backend.handoff.customer import leave_callback, rate
from backend.handoff.messages import history
from backend.handoff.models import HandoffRequest
from backend.handoff.service import agent_owns_conversation, request_handoff
from backend.runtime import Runtime
from tests.backend.claims.support import calendar
from tests.backend.handoff.test_api_console import Console
from tests.backend.staff.helpers import Clock, assert_error, assert_ok

ALL = ["general", "claims", "complaints"]
# Monday 2 March 2026, 19:00 in Shanghai: after the service hours (08:30–17:30).
EVENING = dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC)
NEXT_MORNING = dt.datetime(2026, 3, 3, 0, 30, tzinfo=dt.UTC)  # Tuesday 08:30 in Shanghai


def _openid() -> str:
    return f"o{uuid.uuid4().hex[:12]}"


def _callback(db: Session, runtime: Runtime, clock: Clock, text: str = "请给我回个电话，13812345678",
              openid: str | None = None) -> HandoffRequest:
    row = leave_callback(db, channel="official_account", user_id=openid or _openid(), now=clock.now,
                         cipher=runtime.cipher, calendar=calendar(), summary=text)
    db.flush()
    return row


def _ids(console: Console) -> list[int]:
    return [i["id"] for i in assert_ok(console.get("/work-items"))["items"]]


def _item(console: Console, handoff_id: int) -> dict[str, Any]:
    [item] = [i for i in assert_ok(console.get("/work-items"))["items"] if i["id"] == handoff_id]
    return item


def test_a_call_back_left_outside_hours_shows_from_the_next_working_morning(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    clock.now = EVENING
    agent = Console(client, db, runtime, clock, "agent", ALL)
    row = _callback(db, runtime, clock)
    assert row.id not in _ids(agent)
    assert row.id not in [i["id"] for i in assert_ok(agent.get("/queue"))["items"]]  # never a waiting chat
    assert_error(agent.post(f"/work-items/{row.id}/take"), 409, "not_due")
    clock.now = NEXT_MORNING - dt.timedelta(minutes=2)
    agent.login()
    assert row.id not in _ids(agent)
    clock.now = NEXT_MORNING + dt.timedelta(minutes=5)
    agent.login()
    item = _item(agent, row.id)
    assert item["kind"] == "回电" and item["status"] == "queued" and item["agent_id"] is None
    assert item["due_at"].startswith("2026-03-03T00:30") and 300 <= item["wait_s"] < 400
    assert "138****5678" in item["said"] and "13812345678" not in str(item)
    assert row.user_id not in str(item) and item["customer"].startswith("微信客户")
    outcomes = assert_ok(agent.get("/work-items"))["outcomes"]
    assert {o["title"] for o in outcomes} == {"已回电", "联系不上", "已处理"}


def test_a_low_ratings_follow_up_shows_to_a_supervisor_with_the_agent_it_is_about(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent = Console(client, db, runtime, clock, "agent", ALL)
    supervisor = Console(client, db, runtime, clock, "supervisor")
    chat = request_handoff(db, channel="official_account", user_id=_openid(), reason="asked",
                           cipher=runtime.cipher, now=clock.now)
    db.flush()
    assert agent.post(f"/conversations/{chat.id}/take").status_code == 200
    assert agent.post(f"/conversations/{chat.id}/close",
                      {"disposition": "resolved", "summary": "已答复"}).status_code == 200
    clock.advance(60)
    assert rate(db, channel=chat.channel, user_id=chat.user_id, score=1, now=clock.now, cipher=runtime.cipher)
    follow = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user_id,
                                                     HandoffRequest.reason == "follow_up")).one()
    item = _item(supervisor, follow.id)
    assert item["kind"] == "差评跟进" and item["supervisor_only"] and item["about_agent"] == agent.name
    assert "1分" in item["said"]
    # not for agents, even of the complaints group: not listed, not taken, not readable
    assert follow.id not in _ids(agent)
    assert_error(agent.post(f"/work-items/{follow.id}/take"), 403, "forbidden")
    assert_error(agent.get(f"/conversations/{follow.id}"), 403, "forbidden")
    assert_ok(supervisor.post(f"/work-items/{follow.id}/take"))


def test_an_agent_does_not_see_a_call_back_for_another_group(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    general = Console(client, db, runtime, clock, "agent", ["general"])
    claims = Console(client, db, runtime, clock, "agent", ["claims"])
    openid = _openid()
    chat = request_handoff(db, channel="official_account", user_id=openid, reason="asked",
                           flow="claim_report", cipher=runtime.cipher, now=clock.now)
    db.flush()
    row = _callback(db, runtime, clock, openid=openid)  # asked while waiting in the claims queue
    assert chat.skill_group == "claims" and row.skill_group == "claims"
    assert row.id in _ids(claims)
    assert row.id not in _ids(general)
    assert_error(general.post(f"/work-items/{row.id}/take"), 403, "forbidden")
    db.refresh(row)
    assert row.status == "queued"


def test_two_staff_race_to_take_one_work_item_one_wins(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    a = Console(client, db, runtime, clock, "agent", ALL)
    b = Console(client, db, runtime, clock, "agent", ALL)
    row = _callback(db, runtime, clock)
    first = a.post(f"/work-items/{row.id}/take")
    second = b.post(f"/work-items/{row.id}/take")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "agent" and first.json()["taken_by"] == a.name
    assert_error(second, 409, "already_taken")
    assert second.json()["error"]["message"] == "这条待办已经被别的同事接了"
    db.refresh(row)
    assert row.agent_id == a.id and row.status == "agent"
    assert row.id in _ids(a) and row.id not in _ids(b)
    assert row.id not in [i["id"] for i in assert_ok(a.get("/mine"))["items"]]  # not a chat: no chat slot
    assert not agent_owns_conversation(db, channel=row.channel, user_id=row.user_id)  # the bot talks on


def test_finishing_a_work_item_closes_it_audited_published_and_off_the_list(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock, redis_client: Any) -> None:
    agent = Console(client, db, runtime, clock, "agent", ALL)
    row = _callback(db, runtime, clock)
    assert_error(agent.post(f"/work-items/{row.id}/finish", {"outcome": "called_back", "note": "好"}),
                 409, "not_taken")
    assert_ok(agent.post(f"/work-items/{row.id}/take"))
    # a taken call-back opens in the chat view, where the agent may write to the customer too
    assert assert_ok(agent.get(f"/conversations/{row.id}"))["handoff"]["agent_id"] == agent.id
    reply = agent.post(f"/conversations/{row.id}/reply", {"text": "您好，我们马上给您打电话"})
    assert reply.status_code == 200
    assert_error(agent.post(f"/conversations/{row.id}/transfer", {"to_group": "claims", "note": "转"}),
                 409, "work_item_no_transfer")
    start = events.last_id(redis_client)
    clock.advance(120)
    assert_error(agent.post(f"/work-items/{row.id}/finish", {"outcome": "rated", "note": "好"}), 422)
    done = assert_ok(agent.post(f"/work-items/{row.id}/finish",
                                {"outcome": "called_back", "note": "已回电，客户新号13812345678"}))
    assert done["status"] == "closed"
    db.refresh(row)
    assert row.status == "closed" and row.disposition == "called_back" and row.closed_at == clock.now
    assert row.id not in _ids(agent)
    actions = db.scalars(select(AuditRecord.action).where(AuditRecord.object_type == "handoff",
                                                          AuditRecord.object_id == str(row.id))).all()
    assert "handoff.take" in actions and "handoff.work_item_finish" in actions
    got, _ = events.read_after(redis_client, start)
    assert any(e.type == "work_item.finished" and e.data["handoff_id"] == row.id
               and e.data["disposition"] == "called_back" for e in got)
    assert not [m for m in history(db, row.id) if m.direction == "system"]  # no rating asked for a work item
    assert_error(agent.post(f"/work-items/{row.id}/finish", {"outcome": "resolved", "note": "再来"}),
                 409, "already_finished")


def test_a_data_change_request_is_a_work_item_with_the_new_number_masked(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent = Console(client, db, runtime, clock, "agent", ALL)
    row = request_handoff(db, channel="official_account", user_id=_openid(), reason="info_update",
                          flow="info_update", summary="修改手机号", cipher=runtime.cipher, now=clock.now,
                          payload={"field": "phone", "value": "13912345678", "roster_match": "yes"})
    db.flush()
    item = _item(agent, row.id)
    assert item["kind"] == "资料变更" and "修改手机号" in item["said"] and "139****5678" in item["said"]
    assert "13912345678" not in str(item)
