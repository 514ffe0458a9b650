"""Offline turns (no database), the FAQ answer cache, word lists and the XML parser of the fast path."""

from __future__ import annotations

from typing import Any

import pytest

from backend.conversations.turn_models import PURPOSE_USER_TEXT
from bot.contract import NeedsDatabase
from bot.dialogue.copy import Copy
from bot.dialogue.engine import build_engine
from bot.dialogue.state import State
from bot.inbound import MalformedMessage, parse_document, parse_xml
from tests.bot.dialogue.conftest import Chat


def test_faq_runs_offline_with_a_masked_turn_row(runtime: Any, nlu: Any) -> None:
    engine = build_engine(runtime, nlu=nlu)
    chat = Chat(engine)
    offline = engine.handle_offline(chat.message(text="住院一天赔多少钱，我电话13812345678"),
                                    state_raw=None, agent_owns=False)
    assert "30元" in offline.result.replies[0].text
    row = offline.turn_row
    text = runtime.cipher.decrypt(row["user_text_enc"], purpose=PURPOSE_USER_TEXT)  # stored encrypted
    assert row["intent"] == "product_question" and "13812345678" not in text and "138****5678" in text
    assert offline.result.state_writes  # the follow-up offer goes into the state


@pytest.mark.parametrize("text", ["转人工", "我要投诉你们，太慢了，我很生气，电话13812345678"])
def test_turns_that_write_rows_ask_for_the_database(runtime: Any, nlu: Any, text: str) -> None:
    engine = build_engine(runtime, nlu=nlu)
    with pytest.raises(NeedsDatabase):
        engine.handle_offline(Chat(engine).message(text=text), state_raw=None, agent_owns=False)


class CountingNLU:
    """The real NLU, counting its readings."""

    def __init__(self, nlu: Any) -> None:
        self.nlu = nlu
        self.predictions = 0

    def predict(self, *args: Any, **kw: Any) -> Any:
        self.predictions += 1
        return self.nlu.predict(*args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.nlu, name)


def test_turn_handed_to_the_database_reads_the_text_once(runtime: Any, nlu: Any) -> None:
    counting = CountingNLU(nlu)
    engine = build_engine(runtime, nlu=counting)
    message = Chat(engine).message(text="我要报案")  # the report asks about consent: the database
    with pytest.raises(NeedsDatabase) as need:
        engine.handle_offline(message, state_raw=None, agent_owns=False)
    assert counting.predictions == 1
    with runtime.sessions() as session:
        result = engine.handle_in(message, session=session, resume=need.value.resume)
    assert counting.predictions == 1  # the offline attempt's reading is reused
    assert "受伤的是谁" in result.replies[0].text


def test_a_turn_a_person_has_goes_to_the_database(runtime: Any, nlu: Any) -> None:
    """The message is for the agent: only the database path stores it for them (the bot says nothing)."""
    engine = build_engine(runtime, nlu=nlu)
    msg = Chat(engine).message(text="住院一天赔多少钱")
    with pytest.raises(NeedsDatabase):
        engine.handle_offline(msg, state_raw=None, agent_owns=True)
    with pytest.raises(NeedsDatabase):  # the bot handed this conversation to a person earlier
        engine.handle_offline(msg, state_raw=State(notes={"handoff": "asked"}).to_json(), agent_owns=False)
    assert engine.handle_offline(msg, state_raw=None, agent_owns=False).result.replies  # the bot's own


def test_faq_text_is_cached_per_product_data(runtime: Any, nlu: Any) -> None:
    engine = build_engine(runtime, nlu=nlu)
    product_id = runtime.catalog.get().id
    first = engine.faq_text(product_id, "hospital_allowance")
    assert engine.faq_text(product_id, "hospital_allowance") is first  # cached
    changed = dict(runtime.catalog.raw[product_id])
    changed["benefits"] = {**changed["benefits"]}
    changed["benefits"]["hospital_allowance"] = {**changed["benefits"]["hospital_allowance"],
                                                 "per_day_yuan": 45}
    runtime.catalog.raw[product_id] = changed  # a reloaded product file: new data, new answer
    assert "45" in engine.faq_text(product_id, "hospital_allowance")
    with pytest.raises(KeyError):
        engine.faq_text(product_id, "no_such_topic")


def test_word_lists_match_literally_and_empty_lists_never_match() -> None:
    copy = Copy(data={"text": {}, "a": ["a.b", "转人工"], "empty": []})
    assert copy.contains_any("a", "请帮我转人工") and copy.contains_any("a", "xa.by")
    assert not copy.contains_any("a", "axb")  # the dot is not a wildcard
    assert not copy.contains_any("empty", "anything") and not copy.contains_any("missing", "x")


def test_parser_reads_utf8_whatever_the_declaration_says() -> None:
    body = '<?xml version="1.0" encoding="GBK"?><xml><Content><![CDATA[住院]]></Content></xml>'.encode()
    assert parse_xml(body) == {"Content": "住院"}


def test_parser_keeps_nested_payloads_aside_and_refuses_duplicates() -> None:
    event = (b"<xml><MsgType>event</MsgType><SendLocationInfo><Location_X>23</Location_X>"
             b"</SendLocationInfo></xml>")
    assert parse_xml(event) == {"MsgType": "event"}
    doc = parse_document(b"<xml><A><B>1</B></A><A><B>2</B></A><C>3</C></xml>")  # a list of structures
    assert doc.fields == {"C": "3"} and [a.findtext("B") for a in doc.nested["A"]] == ["1", "2"]
    for bad in (b"<xml><A>1</A><A>2</A></xml>", b"<xml><A>1</A><A><B>1</B></A></xml>",
                b"<xml><A><B>1</B></A><A>1</A></xml>", b"<xml><MsgType><B>text</B></MsgType></xml>",
                b"<root><A>1</A></root>", b"<xml><A>1</A>", "<xml><A>\u00e9</A></xml>".encode("latin-1")):
        with pytest.raises(MalformedMessage):
            parse_xml(bad)
