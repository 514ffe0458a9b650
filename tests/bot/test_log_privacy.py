"""What the webhook's logs must never carry: openids, what customers wrote, SQL parameters (catalogue
D-02; issue 8, item 10). Over the real engine, a real database error and a real uvicorn access log."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, event

from backend.runtime import Runtime
from bot.dialogue.engine import build_engine
from tests.bot.conftest import build_harness, inner_text_xml, make_runtime
from tests.support.fake_wechat import FakeWechat
from tests.support.servers import RedisServer, free_port


def uid() -> str:
    return str(uuid.uuid4().int % 10**18)


def test_database_error_in_a_turn_logs_no_openid_text_or_sql_parameters__d02(
        engine: Engine, redis_server: RedisServer, runtime: Runtime, fake_wechat: FakeWechat, nlu: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    rt = make_runtime(engine, redis_server.url, runtime)
    wx, client = build_harness(rt, fake_wechat)
    rt.turn_handler = build_engine(rt, nlu=nlu)
    user, said = "oPrivate" + uid(), "我要报案，老人叫欧阳秀英"
    dbapi_error = engine.dialect.loaded_dbapi.OperationalError

    def fail_turn_row(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CONVERSATION_TURNS"):
            raise dbapi_error("disk I/O error")

    with client:
        event.listen(engine, "before_cursor_execute", fail_turn_row)
        try:
            with caplog.at_level(logging.INFO):
                r = wx.post(inner_text_xml(said, msg_id=uid(), user=user))
        finally:
            event.remove(engine, "before_cursor_execute", fail_turn_row)
    rt.wechat.processor.close()
    rt.redis.close()
    # the turn (a report: the full path) failed
    assert wx.reply_fields(r)["Content"] == "系统繁忙，请稍后再发一次。"
    logged = caplog.text
    assert "turn handler failed" in logged and "OperationalError" in logged  # the failure is logged...
    for private in (user, "欧阳秀英", "[parameters:", "INSERT INTO", "disk I/O error"):
        assert private not in logged  # ...without the openid, the text, the statement or its message


def test_access_log_keeps_no_query_string_of_the_webhook__d02(
        live_runtime: Runtime, fake_wechat: FakeWechat) -> None:
    """The signed query string carries the sender's openid; uvicorn logs every request line."""
    wx, _client = build_harness(live_runtime, fake_wechat)  # installs the webhook as the app does
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(wx.app, host="127.0.0.1", port=port, log_level="info",
                                           lifespan="off"))
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    access = logging.getLogger("uvicorn.access")
    keep = Keep()
    access.addHandler(keep)
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        deadline = time.time() + 10
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        user = "oAccess" + uid()
        encrypt, body = wx.envelope(inner_text_xml("你好", msg_id=uid(), user=user))
        params = {**wx.signed_params(encrypt), "openid": user}
        r = httpx.post(f"http://127.0.0.1:{port}/wechat", params=params, content=body, timeout=10)
        assert r.status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        access.removeHandler(keep)
        live_runtime.wechat.processor.close()
    assert any('"POST /wechat HTTP/1.1" 200' in line for line in lines), lines
    assert not [line for line in lines if user in line or "signature" in line or "?" in line]
