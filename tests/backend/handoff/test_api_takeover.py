"""Taking over a live bot conversation from the console: the list of customers talking with the bot now,
接管 (the row with the taker, the Redis mirror, the audit, the customer's line), the 409 and the race."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.conversations.turn_models import PURPOSE_REPLY_TEXT, PURPOSE_USER_TEXT, ConversationTurn
from backend.handoff import events
from backend.handoff.messages import read_text
from backend.handoff.models import HandoffMessage, HandoffRequest
from backend.handoff.service import AGENT_OWNED_KEY, conversation_digest, request_handoff
from backend.jobs.models import Job
from backend.runtime import Runtime
from tests.backend.handoff.test_api_console import Console
from tests.backend.staff.helpers import Clock, assert_error, assert_ok


def _chatting(db: Session, runtime: Runtime, clock: Clock, *, minutes_ago: float = 1.0,
              intent: str = "claim_progress", misses: int = 0) -> tuple[str, int]:
    """A customer who talked with the bot (two turns, the last ``minutes_ago``): (openid, last turn id)."""
    user = f"o{uuid.uuid4().hex[:12]}"
    turns = []
    for i, (said, answer, conf) in enumerate((("你好", "您好，请问有什么可以帮您？", 0.9),
                                              ("我的理赔到哪一步了", "请告诉我案件号", 0.72))):
        t = ConversationTurn(channel="official_account", user_id=user,
                             at=clock.now - dt.timedelta(minutes=minutes_ago + 1 - i), kind="text",
                             intent="greeting" if i == 0 else intent, confidence=conf,
                             slots={"bot_misses": misses} if i == 1 and misses else {}, flow=None,
                             user_text_enc=runtime.cipher.encrypt(said, purpose=PURPOSE_USER_TEXT),
                             reply_text_enc=runtime.cipher.encrypt(answer, purpose=PURPOSE_REPLY_TEXT))
        db.add(t)
        turns.append(t)
    db.flush()
    return user, turns[-1].id


def _items(console: Console) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = assert_ok(console.get("/bot-chats"))["items"]
    return items


def test_live_list_shows_customers_chatting_with_the_bot_not_those_with_a_person_or_gone(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    sup = Console(client, db, runtime, clock, "supervisor")
    chatting, chatting_turn = _chatting(db, runtime, clock, misses=1)
    queued, queued_turn = _chatting(db, runtime, clock)
    request_handoff(db, channel="official_account", user_id=queued, reason="asked", cipher=runtime.cipher,
                    now=clock.now)
    _idle, idle_turn = _chatting(db, runtime, clock, minutes_ago=45)
    db.flush()
    items = {i["id"]: i for i in _items(sup)}
    assert chatting_turn in items
    assert queued_turn not in items and idle_turn not in items
    item = items[chatting_turn]
    assert item["misses"] == 1 and item["turns"] == 2 and item["idle_s"] == 60
    assert [(r["intent"], r["confidence"]) for r in item["recent"]] == [("greeting", 0.9),
                                                                       ("claim_progress", 0.72)]
    assert chatting not in str(items) and item["customer"].startswith("微信客户 ")  # no openid
    # the transcript before deciding (audited read)
    view = assert_ok(sup.get(f"/bot-chats/{chatting_turn}"))
    assert [(m["direction"], m["text"]) for m in view["messages"]][-2:] == [
        ("customer", "我的理赔到哪一步了"), ("bot", "请告诉我案件号")]
    assert db.scalars(select(AuditRecord).where(AuditRecord.object_type == "conversation_turn",
                                                AuditRecord.object_id == str(chatting_turn),
                                                AuditRecord.action == "read")).first() is not None
    # an agent may not browse customers' bot chats (A-02)
    agent = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    assert_error(agent.get("/bot-chats"), 403, "forbidden")
    assert_error(agent.post(f"/bot-chats/{chatting_turn}/take"), 403, "forbidden")


def test_take_over_gives_the_chat_to_the_taker_silences_the_bot_audits_publishes_and_tells_the_customer(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock, redis_client: Any) -> None:
    sup = Console(client, db, runtime, clock, "supervisor")
    user, turn_id = _chatting(db, runtime, clock)
    redis_client.srem(AGENT_OWNED_KEY, conversation_digest("official_account", user))
    start = events.last_id(redis_client)
    out = assert_ok(sup.post(f"/bot-chats/{turn_id}/take"))
    row = db.get(HandoffRequest, out["handoff_id"])
    assert row is not None
    db.refresh(row)
    assert (row.status, row.reason, row.agent_id, row.user_id) == ("agent", "takeover", sup.id, user)
    assert row.skill_group == "claims"  # from the last intent, as the queue does
    assert row.first_response_at == clock.now and row.waiting_since is None
    assert redis_client.sismember(AGENT_OWNED_KEY, conversation_digest("official_account", user))
    [audit] = db.scalars(select(AuditRecord).where(AuditRecord.action == "handoff.takeover",
                                                   AuditRecord.object_id == str(row.id)))
    assert audit.actor == f"staff:{sup.id}"
    got, _ = events.read_after(redis_client, start)
    assert any(e.type == "handoff.assigned" and e.data.get("handoff_id") == row.id for e in got)
    [line] = db.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == row.id))
    assert line.direction == "system" and line.delivery == "pending"
    assert "工作人员" in read_text(line, cipher=runtime.cipher)
    assert db.scalars(select(Job).where(Job.kind == "handoff.deliver", Job.key == str(line.id))).first()
    assert not db.scalars(select(Job).where(Job.kind == "handoff.sla", Job.key.like(f"{row.id}:%"))).all()
    # no longer in the live list; the chat is the taker's, and closes back to the bot as any other
    assert turn_id not in [i["id"] for i in _items(sup)]
    assert row.id in [i["id"] for i in assert_ok(sup.get("/mine"))["items"]]
    assert_ok(sup.post(f"/conversations/{row.id}/close", {"disposition": "resolved", "summary": "已解答"}))
    assert not redis_client.sismember(AGENT_OWNED_KEY, conversation_digest("official_account", user))


def test_take_over_refused_when_the_customer_already_has_a_person_or_two_supervisors_race(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    a = Console(client, db, runtime, clock, "supervisor")
    b = Console(client, db, runtime, clock, "supervisor")
    user, turn_id = _chatting(db, runtime, clock)
    first = a.post(f"/bot-chats/{turn_id}/take")
    second = b.post(f"/bot-chats/{turn_id}/take")
    assert first.status_code == 200, first.text
    body = assert_error(second, 409, "already_in_handoff")
    assert body["detail"]["handoff_id"] == first.json()["handoff_id"]
    assert f"#{first.json()['handoff_id']}" in body["message"]
    rows = list(db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == user)))
    assert [(r.status, r.agent_id) for r in rows] == [("agent", a.id)]
    # a customer queued for a person already: refused, pointing to the queued chat
    queued_user, queued_turn = _chatting(db, runtime, clock)
    queued = request_handoff(db, channel="official_account", user_id=queued_user, reason="asked",
                             cipher=runtime.cipher, now=clock.now)
    db.flush()
    refused = assert_error(a.post(f"/bot-chats/{queued_turn}/take"), 409, "already_in_handoff")
    assert refused["detail"]["handoff_id"] == queued.id
    # a customer who left half an hour ago is not taken over
    _gone, gone_turn = _chatting(db, runtime, clock, minutes_ago=45)
    assert_error(a.post(f"/bot-chats/{gone_turn}/take"), 409, "not_chatting")
