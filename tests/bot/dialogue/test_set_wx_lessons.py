"""What sets W and X (two more blind authors) and the last open conversation of set V taught, in new
sentences of the same kinds. NOW is Saturday 21 November 2026."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.handoff.models import HandoffRequest
from backend.handoff.service import read_payload
from tests.bot.dialogue.conftest import Chat


def _updates(chat: Chat, db: Session) -> list[dict[str, str]]:
    rows = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user,
                                                   HandoffRequest.reason == "info_update")
                      .order_by(HandoffRequest.id))
    return [read_payload(row, cipher=chat.engine.runtime.cipher) for row in rows]


def test_a_second_change_in_the_message_that_confirms_the_first_is_recorded_too(
        chat: Chat, db: Session) -> None:
    chat.say("阿妈的理赔报过了，案件号2026110512345")
    chat.say("那时留的是阿妈的电话，以后请联系我：13719283746")
    reply = chat.say("对。另外收款的银行卡也要换成我的卡，怎么办")
    assert [(p["field"], p["case_no"]) for p in _updates(chat, db)] == [
        ("phone", "2026110512345"), ("bank_account", "2026110512345")]
    assert _updates(chat, db)[1]["callback_phone"] == "13719283746"  # the card is checked on the new phone
    assert "卡号不用在这里发" in reply
    assert chat.flow() is None  # the number named the claim to change: no progress lookup comes back
    assert chat.say("我是伊大女儿").startswith("好的")
