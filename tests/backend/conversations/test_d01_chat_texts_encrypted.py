"""D-01: chat texts are stored encrypted (the turn log's user and reply texts, the handoff summary), with
only a short masked snippet readable where a list needs one; the database holds no clear chat text."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.conversations.service import insert_turn
from backend.conversations.turn_models import ConversationTurn
from backend.conversations.turns import turn_text
from backend.handoff.models import HandoffRequest
from backend.handoff.service import read_summary, request_handoff
from backend.security.crypto import FieldCipher
from backend.security.rotation import ENCRYPTED_COLUMNS

SAID = "我叫陈阿婆，电话13812345678，昨天腿摔断了住院，你们理赔太慢了我要投诉"
ANSWER = "陈阿婆您好，已经帮您转人工，3分钟内回复您。"


def _raw(db: Session, table: object, row_id: int) -> str:
    """Every column of one row as the database holds it."""
    row = db.execute(select(table).where(table.c.id == row_id)).one()  # type: ignore[attr-defined]
    return " ".join(str(v) for v in row)


def test_d01_turn_texts_are_stored_encrypted(db: Session, cipher: FieldCipher) -> None:
    insert_turn(db, cipher=cipher, channel="official_account", user_id="o-enc-1", msg_key="m-enc-1",
                kind="text", text=SAID, intent="complaint", confidence=0.8, slots={"name": "陈阿婆"},
                flow="complaint", step="content", reply_text=ANSWER, private_values=["陈阿婆"])
    turn = db.scalars(select(ConversationTurn).where(ConversationTurn.user_id == "o-enc-1")).one()
    raw = _raw(db, ConversationTurn.__table__, turn.id)
    for clear in ("陈阿婆", "摔断", "住院", "投诉", "13812345678", "转人工"):
        assert clear not in raw, clear
    assert turn.user_text_enc and turn.user_text_enc.startswith("v1.")
    assert turn_text(turn, "user_text", cipher=cipher) == (
        "我叫陈*婆，电话138****5678，昨天腿摔断了住院，你们理赔太慢了我要投诉")
    assert turn_text(turn, "reply_text", cipher=cipher) == "陈*婆您好，已经帮您转人工，3分钟内回复您。"
    labels = {c.label for c in ENCRYPTED_COLUMNS}  # rotated with the other free text
    assert {"conversation_turns.user_text_enc", "conversation_turns.reply_text_enc"} <= labels


def test_d01_empty_turn_texts_store_nothing(db: Session, cipher: FieldCipher) -> None:
    insert_turn(db, cipher=cipher, channel="official_account", user_id="o-enc-2", msg_key="m-enc-2",
                kind="event:subscribe", text="", intent=None, confidence=None, slots={}, flow=None, step=None,
                reply_text="")
    turn = db.scalars(select(ConversationTurn).where(ConversationTurn.user_id == "o-enc-2")).one()
    assert (turn.user_text_enc, turn.reply_text_enc) == (None, None)
    assert turn_text(turn, "reply_text", cipher=cipher) == ""


def test_d01_handoff_summary_encrypted_with_a_masked_snippet(db: Session, cipher: FieldCipher) -> None:
    row = request_handoff(db, channel="official_account", user_id="o-enc-3", reason="complaint",
                          flow="complaint", summary=SAID, private_values=["陈阿婆"], cipher=cipher)
    raw = _raw(db, HandoffRequest.__table__, row.id)
    for clear in ("摔断", "住院", "投诉", "13812345678", "陈阿婆"):
        assert clear not in raw, clear
    assert row.summary_snippet == "我叫陈*婆，电话138****5…"  # 16 characters for a queue list, no more
    assert read_summary(row, cipher=cipher) == (
        "我叫陈*婆，电话138****5678，昨天腿摔断了住院，你们理赔太慢了我要投诉")
    assert "handoff_requests.summary_enc" in {c.label for c in ENCRYPTED_COLUMNS}
