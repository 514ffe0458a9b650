"""The /wechat callback, case by case (catalogue §2, W-01 … W-17)."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from sqlalchemy import Engine

from backend.runtime import Runtime, StartupError
from bot.crypto import MessageCrypto, sha1_signature
from bot.inbox_protocol import message_key
from bot.replies import MAX_TEXT_BYTES
from tests.bot.conftest import (
    AES_KEY,
    APP_ID,
    OLD_KEY,
    TOKEN,
    Harness,
    build_harness,
    event_xml,
    inner_text_xml,
    make_runtime,
)
from tests.support.fake_wechat import FakeWechat
from tests.support.servers import RedisServer


def uid() -> str:
    return str(uuid.uuid4().int % 10**18)


def test_text_message_answered_passively_encrypted(wx: Harness) -> None:
    msg_id = uid()
    r = wx.post(inner_text_xml("您好😀理赔", msg_id=msg_id))
    fields = wx.reply_fields(r)
    assert fields["Content"] == "收到：您好😀理赔"  # W-11: emoji and CJK round-trip
    assert fields["ToUserName"] == "oUser1" and fields["FromUserName"] == "gh_10f6c3c3ac5a"
    rows = wx.inbox(f"m:{msg_id}")
    assert len(rows) == 1 and rows[0].status == "done" and rows[0].delivery == "passive"
    assert "您好" not in (rows[0].content_enc or "")  # stored encrypted


def test_w15_get_echostr_plain_text(wx: Harness) -> None:
    ts, nonce = str(int(time.time())), "123456"
    params = {
        "timestamp": ts,
        "nonce": nonce,
        "echostr": "5927782489442352469",
        "signature": sha1_signature(TOKEN, ts, nonce),
    }
    r = wx.client.get("/wechat", params=params)
    assert r.status_code == 200 and r.content == b"5927782489442352469"
    assert r.headers["content-type"].startswith("text/plain")
    assert wx.client.get("/wechat", params={**params, "signature": "0" * 40}).status_code == 403
    assert (
        wx.client.get(
            "/wechat",
            params={
                **params,
                "timestamp": str(int(time.time()) - 1000),
                "signature": sha1_signature(TOKEN, str(int(time.time()) - 1000), nonce),
            },
        ).status_code
        == 403
    )


def test_w01_missing_or_bad_msg_signature(wx: Harness) -> None:
    encrypt, body = wx.envelope(inner_text_xml("x"))
    params = wx.signed_params(encrypt)
    for bad in (
        {**params, "msg_signature": "0" * 40},
        {k: v for k, v in params.items() if k != "msg_signature"},
    ):
        r = wx.client.post("/wechat", params=bad, content=body)
        assert r.status_code == 403 and r.content == b""
    # Signature checked before decryption: a garbage Encrypt with a bad signature is 403, not 400.
    body2 = "<xml><Encrypt><![CDATA[!!!notbase64]]></Encrypt></xml>"
    assert (
        wx.client.post("/wechat", params={**params, "msg_signature": "1" * 40}, content=body2).status_code
        == 403
    )
    assert wx.handler.calls == []


def test_w02_plaintext_post_refused_in_safe_mode(wx: Harness) -> None:
    params = wx.signed_params(None, aes=False)
    r = wx.client.post("/wechat", params=params, content=inner_text_xml("明文"))
    assert r.status_code == 403 and wx.handler.calls == []


def test_w02_service_refuses_to_start_in_insecure_mode(
    live_runtime: Runtime, fake_wechat: FakeWechat
) -> None:
    for mode in ("plaintext", "compatible"):
        with pytest.raises(StartupError):
            build_harness(live_runtime, fake_wechat, mode=mode)


def test_w02_compat_mode_uses_only_the_decrypted_payload(
    live_runtime: Runtime, fake_wechat: FakeWechat
) -> None:
    wx, client = build_harness(live_runtime, fake_wechat, mode="compatible", allow_insecure_modes=True)
    with client:
        encrypt = wx.crypto.encrypt(inner_text_xml("真的"))
        body = (
            f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[伪造]]></Content><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        )
        r = client.post("/wechat", params=wx.signed_params(encrypt), content=body)
        assert wx.reply_fields(r)["Content"] == "收到：真的"
        # and a plaintext push is accepted in compatible mode (signed, unencrypted)
        r2 = client.post("/wechat", params=wx.signed_params(None, aes=False), content=inner_text_xml("明文"))
        assert r2.status_code == 200 and b"\xe6\x98\x8e\xe6\x96\x87" in r2.content
    live_runtime.wechat.processor.close()


def test_w03_stale_or_future_timestamp_refused(wx: Harness) -> None:
    for offset in (-301, 301, -3600):
        r = wx.post(inner_text_xml("x"), timestamp=int(time.time()) + offset)
        assert r.status_code == 403
    assert wx.post(inner_text_xml("x"), timestamp=int(time.time()) - 290).status_code == 200
    assert (
        wx.client.post("/wechat", params={"timestamp": "abc", "nonce": "1"}, content=b"").status_code == 403
    )


def test_w03_plaintext_replay_with_another_body_refused(
    live_runtime: Runtime, fake_wechat: FakeWechat
) -> None:
    wx, client = build_harness(live_runtime, fake_wechat, mode="plaintext", allow_insecure_modes=True)
    with client:
        params = wx.signed_params(None, aes=False, nonce=uid())
        body = inner_text_xml("原文")
        assert client.post("/wechat", params=params, content=body).status_code == 200
        assert client.post("/wechat", params=params, content=body).status_code == 200  # a retry: same answer
        assert client.post("/wechat", params=params, content=inner_text_xml("篡改")).status_code == 403
        assert [m.text for m in wx.handler.calls] == ["原文"]
    live_runtime.wechat.processor.close()


XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh_10f6c3c3ac5a</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType>"
    "<Content>&xxe;</Content><MsgId>1</MsgId></xml>"
)
BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<xml><MsgType>text</MsgType><Content>&lol3;</Content></xml>"
)


@pytest.mark.parametrize("doc", [XXE, BOMB, XXE.replace("DOCTYPE", "doctype")])
def test_w04_entities_refused_outer_and_inner(wx: Harness, doc: str) -> None:
    r = wx.post(doc)  # inner (decrypted) XML
    assert r.status_code == 400 and r.content == b""
    encrypt, _ = wx.envelope(inner_text_xml("x"))
    outer = doc.replace("<Content>", f"<Encrypt>{encrypt}</Encrypt><Content>")
    r2 = wx.client.post("/wechat", params=wx.signed_params(encrypt), content=outer)
    assert r2.status_code == 400
    assert wx.handler.calls == []


def test_w05_oversized_body_413(wx: Harness) -> None:
    big = b"<xml>" + b"a" * (1024 * 1024) + b"</xml>"
    r = wx.client.post("/wechat", params=wx.signed_params("x"), content=big)
    assert r.status_code == 413

    def chunks():  # chunked, no Content-Length
        for _ in range(40):
            yield b"a" * 10_000

    r2 = wx.client.post("/wechat", params=wx.signed_params("x"), content=chunks())
    assert r2.status_code == 413


def test_w05_lying_content_length_413(wx: Harness) -> None:
    from bot.webhook import WechatFrontDoor

    async def call(app, headers):  # type: ignore[no-untyped-def]
        sent: list[dict] = []
        parts = [b"a" * 100_000] * 4

        async def receive():  # type: ignore[no-untyped-def]
            body = parts.pop() if parts else b""
            return {"type": "http.request", "body": body, "more_body": bool(parts)}

        async def send(message):  # type: ignore[no-untyped-def]
            sent.append(message)

        ts = str(int(time.time()))
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/wechat",
            "headers": headers,
            "query_string": f"timestamp={ts}&nonce=1&encrypt_type=aes".encode(),
            "app": wx.app,
            "http_version": "1.1",
            "scheme": "http",
            "server": ("t", 80),
            "client": ("c", 1),
            "root_path": "",
        }
        await app(scope, receive, send)
        return sent[0]["status"]

    assert asyncio.run(call(wx.app, [(b"content-length", b"10")])) == 413
    assert asyncio.run(call(wx.app, [])) == 413
    inner = WechatFrontDoor(wx.app.router, limit=1000)  # the front door alone, in front of the routes
    assert asyncio.run(call(inner, [(b"content-length", b"10")])) == 413
    assert asyncio.run(call(inner, [])) == 413


@pytest.mark.parametrize("encrypt", ["!!!notbase64", "aGVsbG8", "AAAAAAAAAAAAAAAAAAAAAA==", ""])
def test_w06_malformed_encrypt_400(wx: Harness, encrypt: str) -> None:
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    r = wx.client.post("/wechat", params=wx.signed_params(encrypt), content=body)
    assert r.status_code == 400 and r.content == b""


def test_w06_missing_encrypt_and_bad_padding_400(wx: Harness) -> None:
    r = wx.client.post(
        "/wechat", params=wx.signed_params(""), content="<xml><ToUserName>x</ToUserName></xml>"
    )
    assert r.status_code == 400
    import base64

    bad = base64.b64encode(wx.crypto.keys[0].cipher.encrypt(b"\x07" * 64)).decode()
    r2 = wx.client.post(
        "/wechat", params=wx.signed_params(bad), content=f"<xml><Encrypt>{bad}</Encrypt></xml>"
    )
    assert r2.status_code == 400


def test_w07_wrong_app_id_or_account_refused(wx: Harness) -> None:
    other = MessageCrypto(token=TOKEN, app_id="wx0000000000000000", encoding_aes_key=AES_KEY)
    assert wx.post(inner_text_xml("x"), crypto=other).status_code == 400
    assert wx.post(inner_text_xml("x", to="gh_someoneelse")).status_code == 400
    assert wx.handler.calls == []


@pytest.mark.parametrize(
    "inner",
    [
        "<xml><FromUserName>u</FromUserName><Content>x</Content></xml>",  # no MsgType
        "<xml><FromUserName>u</FromUserName><MsgType>text</MsgType><MsgType>text</MsgType></xml>",
        "<root><MsgType>text</MsgType></root>",
        "<xml><MsgType>text",
        "not xml at all",
    ],
)
def test_w08_malformed_inner_xml_400(wx: Harness, inner: str) -> None:
    assert wx.post(inner).status_code == 400
    assert wx.handler.calls == []


def test_w09_duplicate_delivery_three_concurrent_one_turn(wx: Harness) -> None:
    msg_id = uid()
    wx.handler.delay = 0.3
    args = wx.request_args(inner_text_xml("重复", msg_id=msg_id))
    responses = asyncio.run(wx.concurrent([args, args, args]))
    answers = {wx.reply_inner(r) for r in responses}
    assert len(answers) == 1
    assert len(wx.handler.calls) == 1 and len(wx.inbox(f"m:{msg_id}")) == 1
    # a retry after completion gets the same answer, without a second turn
    again = wx.client.post("/wechat", **wx.request_args(inner_text_xml("重复", msg_id=msg_id)))
    assert wx.reply_inner(again) in answers or wx.reply_fields(again)["Content"] == "收到：重复"
    assert len(wx.handler.calls) == 1


def test_w09_64_concurrent_copies_one_turn_identical_answers(wx: Harness) -> None:
    msg_id = uid()
    wx.handler.delay = 0.2
    args = wx.request_args(inner_text_xml("六十四", msg_id=msg_id))
    responses = asyncio.run(wx.concurrent([args] * 64))
    assert {r.status_code for r in responses} == {200}
    assert len({wx.reply_inner(r) for r in responses}) == 1
    assert len(wx.handler.calls) == 1 and len(wx.inbox(f"m:{msg_id}")) == 1


def test_w09_duplicate_seen_by_another_process_gets_stored_answer(wx: Harness) -> None:
    msg_id = uid()
    inner = inner_text_xml("另一进程", msg_id=msg_id)
    first = wx.reply_fields(wx.post(inner))
    # the first request is over: like a copy in another process, this one finds the stored answer
    second = wx.reply_fields(wx.post(inner))
    assert first == second and len(wx.handler.calls) == 1


@pytest.mark.parametrize("msg_id", ["9223372036854775807", "18446744073709551615"])
def test_w10_msgid_range_kept_as_text(wx: Harness, msg_id: str) -> None:
    wx.runtime.redis.delete(message_key(f"m:{msg_id}"))
    r = wx.post(inner_text_xml("大号", msg_id=msg_id))
    assert r.status_code == 200
    assert wx.inbox(f"m:{msg_id}") and wx.handler.calls[-1].msg_key == f"m:{msg_id}"


def test_w11_invalid_utf8_400(wx: Harness) -> None:
    inner = inner_text_xml("ok").encode().replace(b"ok", b"\xff\xfe")
    assert wx.post(inner).status_code == 400
    encrypt = "abc\xff"
    r = wx.client.post(
        "/wechat", params=wx.signed_params(encrypt), content=b"<xml><Encrypt>\xff\xfe</Encrypt></xml>"
    )
    assert r.status_code in (400, 403)
    assert wx.handler.calls == []


def test_w12_long_message_split_at_2048_bytes(wx: Harness) -> None:
    wx.fake.user_wrote("oUser1")
    text = "理赔" * 2500  # 5,000 characters, 15,000 bytes
    r = wx.post(inner_text_xml(text))
    passive = wx.reply_fields(r)["Content"]
    assert len(passive.encode()) <= MAX_TEXT_BYTES
    deadline = time.time() + 5
    while (
        time.time() < deadline and sum(len(m["text"]["content"]) for m in wx.fake.sent) + len(passive) < 5003
    ):
        time.sleep(0.05)
    pieces = [passive] + [m["text"]["content"] for m in wx.fake.sent]
    assert all(len(p.encode()) <= MAX_TEXT_BYTES for p in pieces)
    assert "".join(pieces) == "收到：" + text


def test_w12_empty_content(wx: Harness) -> None:
    assert wx.reply_fields(wx.post(inner_text_xml("")))["Content"] == "收到："


@pytest.mark.parametrize(
    "inner",
    [
        inner_text_xml("x", msg_type="notsure"),
        event_xml("brand_new_event"),
    ],
)
def test_w13_unknown_type_or_event_success(wx: Harness, inner: str) -> None:
    r = wx.post(inner)
    assert r.status_code == 200 and r.text == "success"
    assert wx.handler.calls == []


def test_w14_slow_turn_success_then_customer_service_message(
    live_runtime: Runtime, fake_wechat: FakeWechat
) -> None:
    wx, client = build_harness(live_runtime, fake_wechat, passive_reply_budget_s=0.3)
    fake_wechat.user_wrote("oUser1")
    wx.handler.delay = 0.8
    with client:
        started = time.monotonic()
        r = wx.post(inner_text_xml("慢慢来"))
        assert r.text == "success" and time.monotonic() - started < 0.7
        deadline = time.time() + 5
        while time.time() < deadline and not fake_wechat.sent:
            time.sleep(0.05)
    live_runtime.wechat.processor.close()
    assert fake_wechat.sent[0]["text"]["content"] == "收到：慢慢来"


def _delivery_of(wx: Harness, msg_key: str, *, changes_from: str = "passive") -> str:
    """The inbox row's delivery, once it is no longer ``changes_from`` (or after 5 s)."""
    deadline = time.time() + 5
    while True:
        rows = wx.inbox(msg_key)
        if (rows and rows[0].delivery != changes_from) or time.time() > deadline:
            return rows[0].delivery if rows else "no inbox row"
        time.sleep(0.05)


@pytest.mark.parametrize("window_open", [True, False])
def test_late_reply_records_its_real_delivery__w14(
    live_runtime: Runtime, fake_wechat: FakeWechat, window_open: bool
) -> None:
    """A turn past the passive budget is answered "success" and its reply goes through the 客服 API: the
    inbox row says so ("custom_service"), or "undelivered" when WeChat refused it (45015: the user's
    48-hour window is closed), never "passive"."""
    wx, client = build_harness(live_runtime, fake_wechat, passive_reply_budget_s=0.3)
    user, msg_id = "oLate" + uid(), uid()
    if window_open:
        fake_wechat.user_wrote(user)
    wx.handler.delay = 0.8
    with client:
        r = wx.post(inner_text_xml("慢慢来", msg_id=msg_id, user=user))
        assert r.text == "success"
        delivery = _delivery_of(wx, f"m:{msg_id}")
    live_runtime.wechat.processor.close()
    assert delivery == ("custom_service" if window_open else "undelivered")
    assert [m["text"]["content"] for m in fake_wechat.sent] == (["收到：慢慢来"] if window_open else [])


def test_reply_in_time_stays_passive_with_its_extras_sent_later(wx: Harness) -> None:
    wx.fake.user_wrote("oUser1")
    wx.handler.extra_news = True
    msg_id = uid()
    assert wx.reply_fields(wx.post(inner_text_xml("要图文", msg_id=msg_id)))["Content"] == "收到：要图文"
    deadline = time.time() + 5
    while time.time() < deadline and not wx.fake.sent:
        time.sleep(0.05)
    time.sleep(0.2)
    assert wx.fake.sent and wx.inbox(f"m:{msg_id}")[0].delivery == "passive"


def test_copy_that_gave_up_waiting_leaves_the_reply_to_the_customer_service_api__w14(
    engine: Engine, redis_server: RedisServer, runtime: Runtime, fake_wechat: FakeWechat
) -> None:
    """Issue 8, item 15. WeChat retries a message left unanswered for 5 s. The retry (here in another
    process, with a short budget) finds the first delivery still at work and answers ``success``; from
    then on WeChat listens to nobody, so the first delivery's passive reply would be lost: the reply
    goes through the customer-service API instead, once."""
    first_rt = make_runtime(engine, redis_server.url, runtime)
    retry_rt = make_runtime(engine, redis_server.url, runtime)
    first, first_client = build_harness(first_rt, fake_wechat, passive_reply_budget_s=3.0)
    retry, retry_client = build_harness(retry_rt, fake_wechat, passive_reply_budget_s=0.3)
    user = "oRetry" + uid()
    fake_wechat.user_wrote(user)
    first.handler.delay = 1.0  # the first delivery's turn is slow (a database lock, say)
    msg_id = uid()
    msg_key = f"m:{msg_id}"
    inner = inner_text_xml("慢一点", msg_id=msg_id, user=user)

    async def deliveries() -> tuple[httpx.Response, httpx.Response]:
        async def post(wx: Harness) -> httpx.Response:
            transport = httpx.ASGITransport(app=wx.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
                return await ac.post("/wechat", **wx.request_args(inner))

        delivery = asyncio.ensure_future(post(first))
        await asyncio.sleep(0.2)
        again = await post(retry)
        return await delivery, again

    with first_client, retry_client:
        r1, r2 = asyncio.run(deliveries())
        assert r2.status_code == 200 and r2.text == "success"  # the retry gave up waiting
        deadline = time.time() + 5
        while time.time() < deadline and not fake_wechat.sent:
            time.sleep(0.05)
        time.sleep(0.3)  # time for a second (wrong) send to show
        assert [m["text"]["content"] for m in fake_wechat.sent] == ["收到：慢一点"]
        assert r1.status_code == 200 and r1.text == "success"  # not a passive reply WeChat no longer reads
        assert len(first.handler.calls) + len(retry.handler.calls) == 1
        assert _delivery_of(first, msg_key) == "custom_service"
    first_rt.wechat.processor.close()
    retry_rt.wechat.processor.close()


def test_w14_extra_replies_go_through_customer_service(wx: Harness) -> None:
    wx.fake.user_wrote("oUser1")
    wx.handler.extra_news = True
    r = wx.post(inner_text_xml("要图文"))
    assert wx.reply_fields(r)["Content"] == "收到：要图文"
    deadline = time.time() + 5
    while time.time() < deadline and not wx.fake.sent:
        time.sleep(0.05)
    assert wx.fake.sent[0]["msgtype"] == "news"


def test_w16_image_media_id_reaches_the_turn(wx: Harness) -> None:
    extra = "<PicUrl><![CDATA[http://mmbiz/x.jpg]]></PicUrl><MediaId><![CDATA[MEDIA42]]></MediaId>"
    inner = inner_text_xml("", msg_type="image", extra=extra).replace("<Content><![CDATA[]]></Content>", "")
    assert wx.reply_fields(wx.post(inner))["Content"] == "收到image"
    assert wx.handler.calls[-1].media_id == "MEDIA42" and wx.handler.calls[-1].pic_url == "http://mmbiz/x.jpg"


def test_w17_one_users_messages_processed_in_turn(wx: Harness) -> None:
    wx.handler.delay = 0.2
    user = "oOrder" + uid()
    reqs = [wx.request_args(inner_text_xml(f"第{i}条", user=user)) for i in range(3)]
    responses = asyncio.run(wx.concurrent(reqs))
    assert all(r.status_code == 200 for r in responses)
    spans = sorted((s, e) for _k, s, e in wx.handler.spans)
    assert all(spans[i][1] <= spans[i + 1][0] + 0.001 for i in range(len(spans) - 1))


def test_message_kinds_reach_the_turn(wx: Harness) -> None:
    voice = inner_text_xml("", msg_type="voice", extra="<Recognition><![CDATA[我要报案]]></Recognition>")
    assert wx.reply_fields(wx.post(voice))["Content"] == "听到：我要报案"
    empty_voice = inner_text_xml("", msg_type="voice", extra="<Recognition><![CDATA[]]></Recognition>")
    assert "打字" in wx.reply_fields(wx.post(empty_voice))["Content"]
    loc = inner_text_xml(
        "",
        msg_type="location",
        extra="<Location_X>23.25</Location_X><Location_Y>116.42</Location_Y>"
        "<Scale>15</Scale><Label><![CDATA[潮南区陈店镇]]></Label>",
    )
    wx.post(loc)
    assert wx.handler.calls[-1].location == (23.25, 116.42, "潮南区陈店镇")
    for kind in ("link", "video", "file"):
        assert wx.reply_fields(wx.post(inner_text_xml("", msg_type=kind)))["Content"] == f"收到{kind}"
    assert wx.reply_fields(wx.post(event_xml("subscribe", user="oNew" + uid())))["Content"] == "欢迎关注"
    assert wx.post(event_xml("CLICK", key="CLAIM_REPORT")).status_code == 200
    assert wx.handler.calls[-1].event == "click" and wx.handler.calls[-1].event_key == "CLAIM_REPORT"
    assert wx.post(event_xml("unsubscribe")).text == "success"


def test_templatesendjobfinish_receipt_stored(wx: Harness) -> None:
    from sqlalchemy import select

    from backend.conversations.models import WechatTemplateReceipt

    msgid = uid()[:12]
    r = wx.post(
        event_xml(
            "TEMPLATESENDJOBFINISH", extra=f"<MsgID>{msgid}</MsgID><Status><![CDATA[success]]></Status>"
        )
    )
    assert r.text == "success" and wx.handler.calls == []
    with wx.runtime.sessions() as s:
        row = s.scalars(
            select(WechatTemplateReceipt).where(WechatTemplateReceipt.template_msgid == msgid)
        ).one()
    assert row.status == "success" and row.openid == "oUser1"


def test_events_in_one_second_are_not_duplicates(wx: Harness) -> None:
    user, ts = "oEv" + uid(), int(time.time())
    wx.post(event_xml("subscribe", user=user, create_time=ts))
    wx.post(event_xml("CLICK", user=user, key="CLAIM_PROGRESS", create_time=ts))
    assert [c.event for c in wx.handler.calls] == ["subscribe", "click"]
    wx.post(event_xml("CLICK", user=user, key="CLAIM_PROGRESS", create_time=ts))  # WeChat's retry
    assert len(wx.handler.calls) == 2


def test_key_rotation_old_key_message_answered_with_old_key(wx: Harness) -> None:
    old = MessageCrypto(token=TOKEN, app_id=APP_ID, encoding_aes_key=OLD_KEY)
    r = wx.post(inner_text_xml("旧钥匙"), crypto=old)
    from bot.inbound import parse_xml

    outer = parse_xml(r.content)
    assert old.decrypt(outer["Encrypt"])[1] == 0  # the reply is readable with the key WeChat used


def test_turn_handler_failure_is_a_polite_answer(wx: Harness) -> None:
    wx.handler.fail = True
    assert wx.reply_fields(wx.post(inner_text_xml("出错")))["Content"] == "系统繁忙，请稍后再发一次。"


def test_the_webhooks_front_door_is_the_apps_outermost_middleware() -> None:
    """WeChat's pushes are most of the traffic: the production app hands them to the front door before
    any other middleware runs (the mini-program's and the staff API's body caps, the security headers)."""
    from backend.app import create_app
    from bot.webhook import WechatFrontDoor
    from config.settings import Settings

    app = create_app(Settings(mode="local"))
    names = [m.cls.__name__ for m in app.user_middleware]  # outermost first
    assert app.user_middleware[0].cls is WechatFrontDoor, names
    assert "MiniProgramLimits" in names and "SecurityHeaders" in names
