"""The dashboard loaded from real rows (SQLite and PostgreSQL): today's handoffs by local day,
messages for next-response times, the intents of today's handed-off customers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from backend.conversations.turn_models import ConversationTurn
from backend.handoff import stats
from backend.handoff.models import PURPOSE_MESSAGE, HandoffMessage, HandoffRequest
from backend.security.crypto import FieldCipher

# 11:00 in Shantou, on a day no other test uses: the webhook tests commit through the shared engines,
# as the service does, and the dashboard counts every row of its day
NOW = dt.datetime(2030, 6, 18, 3, 0, tzinfo=dt.UTC)


def _row(db: Session, user: str, queued_min_ago: float, frt_s: float | None, **kw: object) -> HandoffRequest:
    q = NOW - dt.timedelta(minutes=queued_min_ago)
    row = HandoffRequest(channel="official_account", user_id=user, reason=kw.pop("reason", "asked"),
                         status=kw.pop("status", "closed"), queued_at=q, created_at=q, updated_at=q,
                         first_response_at=q + dt.timedelta(seconds=frt_s) if frt_s is not None else None,
                         **kw)
    db.add(row)
    db.flush()
    return row


def test_dashboard_from_rows(db: Session, cipher: FieldCipher) -> None:
    a = _row(db, "oA", 60, 40, rating=5, agent_id=1)
    _row(db, "oB", 30, 250, rating=1, escalated=True, breached_at=NOW - dt.timedelta(minutes=27),
         reason="complaint", skill_group="complaints", priority=1, agent_id=1)
    _row(db, "oC", 2.5, None, status="queued")
    _row(db, "oD", 60 * 12, 10)  # yesterday in Shantou (before 00:00 local): not today
    t = a.first_response_at
    assert t is not None
    for i, (direction, sec) in enumerate([("agent", 0), ("customer", 30), ("agent", 75)]):
        db.add(HandoffMessage(handoff_id=a.id, direction=direction,
                              staff_id=1 if direction == "agent" else None,
                              text_enc=cipher.encrypt(f"m{i}", purpose=PURPOSE_MESSAGE),
                              created_at=t + dt.timedelta(seconds=sec)))
    db.add(ConversationTurn(channel="official_account", user_id="oA", at=NOW - dt.timedelta(minutes=61),
                            intent="claim_report", confidence=0.9, slots={}))
    db.add(ConversationTurn(channel="official_account", user_id="oB", at=NOW - dt.timedelta(minutes=31),
                            intent="claim_report", confidence=0.8, slots={}))
    db.add(ConversationTurn(channel="official_account", user_id="oZ", at=NOW - dt.timedelta(minutes=5),
                            intent="greeting", confidence=0.8, slots={}))
    db.flush()
    out = stats.dashboard(db, now=NOW)
    assert out["handoffs_today"] == 3
    assert out["queue_length"] == 1 and out["oldest_wait_s"] == 150
    assert out["first_response_p50_s"] == 145
    assert out["within_3min_share"] == 0.5  # 40 s yes, 250 s no; the 150 s wait is not known yet
    assert out["breaches_today"] == 1
    assert out["next_response_p50_s"] == 45
    assert out["satisfaction_avg"] == 3 and out["satisfaction_count"] == 2
    assert {r["key"]: r["count"] for r in out["reasons"]} == {"asked": 2, "complaint": 1}
    assert out["top_intents"] == [{"key": "claim_report", "count": 2}]
    assert [r["sla"] for r in out["at_risk"]] == ["warn"]
