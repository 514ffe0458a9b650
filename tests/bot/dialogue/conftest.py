"""Conversation helpers: send messages to the real engine (real NLU, db, Redis) and read replies."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from backend.roster.idcard import check_digit
from backend.roster.service import import_roster
from backend.runtime import Runtime
from bot.contract import BotReply, InboundMessage
from bot.dialogue.engine import DialogueEngine, build_engine

# Saturday 21 November 2026, 10:00 in Shanghai: "昨天" is the 20th.
NOW = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
_keys = itertools.count(1)


def make_id(birth: str, seq: str = "123") -> str:
    """A valid 潮南区 ID number for a birth date ``YYYYMMDD``."""
    first17 = "440514" + birth + seq
    return first17 + check_digit(first17)


ZHANG_ID = make_id("19500312", "122")  # 张秀英, in the roster
LI_ID = make_id("19480705", "211")  # not in the roster
ZHANG_PHONE = "13812345678"


@pytest.fixture(scope="session")
def nlu() -> Any:
    from intents import NLU

    return NLU.load()


@pytest.fixture
def dialogue(runtime: Runtime, nlu: Any) -> DialogueEngine:
    return build_engine(runtime, nlu=nlu)


@pytest.fixture
def roster(db: Session, runtime: Runtime) -> None:
    """One insured person: 张秀英."""
    csv = ("姓名,身份证号,户籍区县,手机号,地址\n"
           f"张秀英,{ZHANG_ID},潮南区,{ZHANG_PHONE},峡山街道\n").encode()
    product = runtime.catalog.get()
    import_roster(db, cipher=runtime.cipher, product=product, data=csv, file_name="r.csv", actor="test",
                  today=NOW.date())
    db.commit()


class Chat:
    """One customer talking to the engine."""

    def __init__(self, engine: DialogueEngine, user: str | None = None,
                 channel: str = "official_account") -> None:
        self.engine = engine
        # A fresh openid per conversation: rows of other tests never match.
        self.user = user or f"o-{uuid.uuid4().hex[:16]}"
        self.channel = channel
        self.now = NOW
        self.last: list[BotReply] = []

    def message(self, kind: str = "text", text: str = "", **fields: Any) -> InboundMessage:
        return InboundMessage(channel=self.channel, user_id=self.user, kind=kind, text=text,
                              msg_key=fields.pop("msg_key", f"m{next(_keys)}"),
                              created_at=self.now, raw_type=kind, **fields)

    def send_message(self, msg: InboundMessage) -> str:
        self.last = self.engine.handle(msg)
        self.now += dt.timedelta(seconds=30)
        return "\n\n".join(r.text for r in self.last)

    def say(self, text: str) -> str:
        return self.send_message(self.message("text", text))

    def send(self, kind: str, **fields: Any) -> str:
        return self.send_message(self.message(kind, **fields))

    def talk(self, *texts: str) -> list[str]:
        return [self.say(t) for t in texts]


@pytest.fixture
def chat(dialogue: DialogueEngine) -> Iterator[Chat]:
    yield Chat(dialogue)
