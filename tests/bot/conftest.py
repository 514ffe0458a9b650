"""Fixtures for the webhook: a live runtime (real commits, for threads), the fake WeChat API, a harness."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from backend.conversations.models import WechatInbox
from backend.db import make_sessionmaker
from backend.redis_conn import RedisHandle
from backend.runtime import Runtime
from bot.contract import BotReply, InboundMessage, NeedsDatabase, NewsItem, OfflineTurn, TurnResult
from bot.crypto import MessageCrypto, sha1_signature
from bot.inbound import parse_xml
from bot.settings import WechatSettings
from bot.startup import build_context
from bot.webhook import install_webhook
from tests.conftest import TEST_AUDIT_KEY
from tests.support.fake_wechat import FakeWechat
from tests.support.servers import RedisServer

TOKEN = "spamtest"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OLD_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"
APP_ID = "wx2c2769f8efd9abc2"
GH_ID = "gh_10f6c3c3ac5a"


class EchoHandler:
    """A simple turn handler for webhook tests: echoes text, welcomes subscribers.

    It speaks the real handler protocol (``bot.contract.TurnHandler``) and answers every turn in the
    webhook's transaction (the full path): its offline attempt always asks for the database.
    """

    def __init__(self) -> None:
        self.calls: list[InboundMessage] = []
        self.spans: list[tuple[str, float, float]] = []
        self.lock = threading.Lock()
        self.delay = 0.0
        self.fail = False
        self.extra_news = False

    def state_key(self, message: InboundMessage) -> str:
        return f"echo:state:{message.user_id}"

    def handle_offline(self, message: InboundMessage, *, state_raw: bytes | str | None,
                       agent_owns: bool) -> OfflineTurn:
        raise NeedsDatabase("echo")

    def handle_in(self, message: InboundMessage, *, session: Session, resume: object = None) -> TurnResult:
        return TurnResult(self._replies(message))

    def _replies(self, message: InboundMessage) -> list[BotReply]:
        start = time.monotonic()
        with self.lock:
            self.calls.append(message)
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.spans.append((message.msg_key, start, time.monotonic()))
        if self.fail:
            raise RuntimeError("boom")
        if message.kind == "text":
            replies = [BotReply(text="收到：" + message.text)]
            if self.extra_news:
                replies.append(BotReply(news=(NewsItem("报案须知", "三步", "https://x.example"),)))
            return replies
        if message.kind == "voice":
            return [BotReply(text=("听到：" + message.text) if message.text else "没听清，请打字或转人工。")]
        if message.event == "subscribe":
            return [BotReply(text="欢迎关注")]
        if message.kind in ("image", "location", "link", "video", "file"):
            return [BotReply(text="收到" + message.kind)]
        return []


def inner_text_xml(
    content: str,
    *,
    msg_id: str | None = None,
    user: str = "oUser1",
    to: str = GH_ID,
    msg_type: str = "text",
    extra: str = "",
    create_time: int | None = None,
) -> str:
    msg_id = msg_id or str(uuid.uuid4().int % 10**18)
    ct = int(time.time()) if create_time is None else create_time
    return (
        f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{ct}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>{extra}</xml>"
    )


def event_xml(
    event: str, *, user: str = "oUser1", key: str = "", create_time: int | None = None, extra: str = ""
) -> str:
    ct = int(time.time()) if create_time is None else create_time
    return (
        f"<xml><ToUserName><![CDATA[{GH_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{ct}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey>{extra}</xml>"
    )


class Harness:
    """Signs, encrypts and posts pushes like WeChat, and decrypts the answers."""

    def __init__(
        self,
        app: FastAPI,
        client: TestClient,
        runtime: Runtime,
        handler: EchoHandler,
        fake: FakeWechat,
        settings: WechatSettings,
    ) -> None:
        self.app, self.client, self.runtime, self.handler, self.fake = app, client, runtime, handler, fake
        self.settings = settings
        self.crypto = MessageCrypto(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY)

    def signed_params(
        self,
        encrypt: str | None,
        *,
        timestamp: int | None = None,
        nonce: str = "1320562132",
        aes: bool = True,
    ) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        params = {
            "timestamp": ts,
            "nonce": nonce,
            "signature": sha1_signature(TOKEN, ts, nonce),
            "openid": "oUser1",
        }
        if aes:
            params["encrypt_type"] = "aes"
            params["msg_signature"] = sha1_signature(TOKEN, ts, nonce, encrypt or "")
        return params

    def envelope(
        self, inner: str | bytes, crypto: MessageCrypto | None = None, key_index: int = 0
    ) -> tuple[str, str]:
        encrypt = (crypto or self.crypto).encrypt(inner, key_index=key_index)
        return (
            encrypt,
            f"<xml><ToUserName><![CDATA[{GH_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
        )

    def post(self, inner: str | bytes, *, crypto: MessageCrypto | None = None, **kw: Any) -> httpx.Response:
        encrypt, body = self.envelope(inner, crypto)
        return self.client.post("/wechat", params=self.signed_params(encrypt, **kw), content=body)

    def request_args(self, inner: str) -> dict[str, Any]:
        encrypt, body = self.envelope(inner)
        return {"params": self.signed_params(encrypt), "content": body}

    def reply_fields(self, response: httpx.Response) -> dict[str, str]:
        assert response.status_code == 200, response.status_code
        outer = parse_xml(response.content)
        self.crypto.check_msg_signature(
            msg_signature=outer["MsgSignature"],
            timestamp=outer["TimeStamp"],
            nonce=outer["Nonce"],
            encrypt=outer["Encrypt"],
        )
        inner, _ = self.crypto.decrypt(outer["Encrypt"])
        return parse_xml(inner)

    def reply_inner(self, response: httpx.Response) -> bytes:
        outer = parse_xml(response.content)
        return self.crypto.decrypt(outer["Encrypt"])[0]

    def inbox(self, msg_key: str) -> list[WechatInbox]:
        with self.runtime.sessions() as s:
            return list(s.scalars(select(WechatInbox).where(WechatInbox.msg_key == msg_key)).all())

    async def concurrent(self, requests: list[dict[str, Any]]) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            return list(await asyncio.gather(*(ac.post("/wechat", **r) for r in requests)))


@contextmanager
def failing_commits(engine: Engine) -> Iterator[None]:
    """Every COMMIT on ``engine`` fails as a dying disk would (catalogue F-P1), until the block ends."""
    def fail_commit(_conn: object) -> None:
        raise OperationalError("COMMIT", None, Exception("disk I/O error"))

    event.listen(engine, "commit", fail_commit)
    try:
        yield
    finally:
        event.remove(engine, "commit", fail_commit)


def make_runtime(engine: Engine, redis_url: str, base: Runtime) -> Runtime:
    handle = RedisHandle(url=redis_url, socket_timeout=0.3, connect_timeout=0.3)
    return Runtime(
        settings=base.settings,
        engine=engine,
        sessions=make_sessionmaker(engine, audit_key=TEST_AUDIT_KEY),
        redis_handle=handle,
        redis=handle.sync_client(),
        cipher=base.cipher,
        catalog=base.catalog,
    )


@pytest.fixture
def fake_wechat() -> Iterator[FakeWechat]:
    # The count rule (45047 after 5 customer-service messages per user message) is off: the webhook's
    # tests send long replies in more parts than that.
    fake = FakeWechat(app_id=APP_ID, cs_limit=None).start()
    yield fake
    fake.stop()


def wechat_settings(fake: FakeWechat, **kw: Any) -> WechatSettings:
    values: dict[str, Any] = {
        "token": TOKEN,
        "app_id": APP_ID,
        "app_secret": fake.app_secret,
        "encoding_aes_key": AES_KEY,
        "previous_encoding_aes_key": OLD_KEY,
        "mode": "safe",
        "api_base_url": fake.url,
        "passive_reply_budget_s": 3.0,
        "original_id": GH_ID,
    }
    values.update(kw)
    return WechatSettings(**values)


def build_harness(
    runtime: Runtime, fake: FakeWechat, *, guard_open_s: float = 5.0, **settings_kw: Any
) -> tuple[Harness, TestClient]:
    settings = wechat_settings(fake, **settings_kw)
    ctx = build_context(runtime, settings, guard_open_s=guard_open_s)
    handler = EchoHandler()
    runtime.wechat = ctx
    runtime.turn_handler = handler
    app = FastAPI()
    install_webhook(app, max_body_bytes=settings.max_body_bytes)
    app.state.runtime = runtime
    client = TestClient(app, raise_server_exceptions=False)
    return Harness(app, client, runtime, handler, fake, settings), client


@pytest.fixture
def live_runtime(
    engine: Engine, redis_server: Any, redis_client: redis.Redis, runtime: Runtime
) -> Iterator[Runtime]:
    """A runtime on the real engine (commits for real: tests use unique message keys)."""
    rt = make_runtime(engine, redis_server.url, runtime)
    yield rt
    rt.redis.close()


@pytest.fixture
def wx(live_runtime: Runtime, fake_wechat: FakeWechat) -> Iterator[Harness]:
    harness, client = build_harness(live_runtime, fake_wechat)
    with client:
        yield harness
    live_runtime.wechat.processor.close()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(autouse=True)
def quiet_test_client_urls() -> Iterator[None]:
    """httpx logs request URLs, whose hex signatures can look like phone numbers to the PII canary."""
    import logging

    logger = logging.getLogger("httpx")
    old = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(old)


def uid() -> str:
    """A fresh numeric MsgId."""
    return str(uuid.uuid4().int % 10**18)


@pytest.fixture
def live(engine: Engine, redis_server: RedisServer, runtime: Runtime, fake_wechat: FakeWechat,
         nlu: Any) -> Iterator[tuple[Harness, Runtime]]:
    """The webhook on a real Redis and the real dialogue engine (the fast path runs)."""
    from bot.dialogue.engine import build_engine

    rt = make_runtime(engine, redis_server.url, runtime)
    wx, client = build_harness(rt, fake_wechat)
    rt.turn_handler = build_engine(rt, nlu=nlu)
    with client:
        yield wx, rt
    rt.wechat.processor.close()
    rt.redis.close()
