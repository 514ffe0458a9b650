"""The real outbound gateway against the local fake WeChat API (catalogue §6 F-WX, F-R2)."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from backend.gateways.wechat import (
    WechatApiError,
    WechatGateway,
    WechatMediaExpired,
    WechatQuotaExceeded,
    WechatUnreachable,
)
from tests.support.fake_wechat import FakeWechat
from tests.support.servers import dead_redis, free_port

OPENID = "oUser000000000000000000000001"


def make_gateway(fake: FakeWechat, client: redis.Redis | None, **kw: object) -> WechatGateway:
    sleeps: list[float] = []
    gw = WechatGateway(
        app_id=fake.app_id,
        app_secret=fake.app_secret,
        redis_client=client,
        api_base_url=fake.url,
        timeout_s=kw.pop("timeout_s", 2.0),  # type: ignore[arg-type]
        sleep=sleeps.append,
        **kw,
    )  # type: ignore[arg-type]
    gw.sleeps = sleeps  # type: ignore[attr-defined]
    return gw


def test_send_text_news_image_template_menu_media(fake_wechat: FakeWechat, redis_client: redis.Redis) -> None:
    fake_wechat.user_wrote(OPENID)
    fake_wechat.media["MEDIA1"] = b"\xff\xd8\xffjpeg"
    gw = make_gateway(fake_wechat, redis_client)
    gw.send_text(OPENID, "您好😀理赔")
    gw.send_image(OPENID, "MEDIA1")
    gw.send_news(
        OPENID, [{"title": "报案须知", "description": "三步", "url": "https://x.example", "image": ""}]
    )
    msgid = gw.send_template(OPENID, "TPL1", {"first": {"value": "进度"}}, url="https://x.example")
    gw.create_menu({"button": [{"type": "click", "name": "我要报案", "key": "CLAIM_REPORT"}]})
    assert gw.download_media("MEDIA1") == b"\xff\xd8\xffjpeg"
    assert msgid == "200000001"
    assert [m["msgtype"] for m in fake_wechat.sent] == ["text", "image", "news"]
    assert fake_wechat.sent[0]["text"]["content"] == "您好😀理赔"
    assert fake_wechat.menus[0]["button"][0]["name"] == "我要报案"
    assert fake_wechat.token_fetches == 1


def test_fwx_token_shared_by_processes_one_refresh(
    fake_wechat: FakeWechat, redis_client: redis.Redis
) -> None:
    fake_wechat.user_wrote(OPENID)
    fake_wechat.cs_limit = None  # 25 messages to one user: the 5-per-message rule is not tested here
    gateways = [make_gateway(fake_wechat, redis.Redis.from_url(_url(redis_client))) for _ in range(4)]
    gateways[0].send_text(OPENID, "一")
    assert fake_wechat.token_fetches == 1
    fake_wechat.expire_all_tokens()  # every process now holds a dead token (42001)
    errors: list[BaseException] = []

    def worker(gw: WechatGateway) -> None:
        try:
            for _ in range(3):
                gw.send_text(OPENID, "二")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(gw,)) for gw in gateways for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert fake_wechat.token_fetches == 2  # one refresh for all 8 workers
    assert len(fake_wechat.sent) == 1 + 24


def _url(client: redis.Redis) -> str:
    kw = client.connection_pool.connection_kwargs
    return f"redis://{kw['host']}:{kw['port']}/{kw.get('db', 0)}"


@pytest.mark.parametrize("code", [40001, 40014, 42001])
def test_fwx_token_error_refreshes_once_and_retries_once(
    fake_wechat: FakeWechat, redis_client: redis.Redis, code: int
) -> None:
    fake_wechat.user_wrote(OPENID)
    gw = make_gateway(fake_wechat, redis_client)
    gw.send_text(OPENID, "先取令牌")
    fake_wechat.inject(code, "/cgi-bin/message/custom/send")
    gw.send_text(OPENID, "重试成功")
    assert fake_wechat.token_fetches == 2
    fake_wechat.inject(code, "/cgi-bin/message/custom/send", times=5)
    before = fake_wechat.requests.count("/cgi-bin/message/custom/send")
    with pytest.raises(WechatApiError) as info:
        gw.send_text(OPENID, "不会无限重试")
    assert info.value.errcode == code
    assert fake_wechat.requests.count("/cgi-bin/message/custom/send") - before == 2


def test_fwx_45009_quota_opens_circuit_for_every_process(
    fake_wechat: FakeWechat, redis_client: redis.Redis
) -> None:
    fake_wechat.user_wrote(OPENID)
    fake_wechat.quotas["/cgi-bin/message/custom/send"] = 1
    gw, other = make_gateway(fake_wechat, redis_client), make_gateway(fake_wechat, redis_client)
    gw.send_text(OPENID, "一")
    with pytest.raises(WechatQuotaExceeded):
        gw.send_text(OPENID, "二")
    sent_requests = fake_wechat.requests.count("/cgi-bin/message/custom/send")
    with pytest.raises(WechatQuotaExceeded):
        other.send_text(OPENID, "三")  # no request goes out: no retry storm
    assert fake_wechat.requests.count("/cgi-bin/message/custom/send") == sent_requests
    assert other.circuit_open() == 45009


def test_fwx_45011_per_minute_quota(fake_wechat: FakeWechat, redis_client: redis.Redis) -> None:
    fake_wechat.inject(45011)
    gw = make_gateway(fake_wechat, redis_client)
    with pytest.raises(WechatQuotaExceeded):
        gw.send_template(OPENID, "TPL", {})
    assert redis_client.ttl(gw.circuit_key) <= 60


def test_fwx_45015_window_closed_recorded_not_retried(
    fake_wechat: FakeWechat, redis_client: redis.Redis
) -> None:
    gw = make_gateway(fake_wechat, redis_client)
    with pytest.raises(WechatUnreachable) as info:
        gw.send_text(OPENID, "48小时外")
    assert info.value.errcode == 45015
    assert fake_wechat.requests.count("/cgi-bin/message/custom/send") == 1
    assert gw.unreachable_code(OPENID) == 45015
    fake_wechat.user_wrote(OPENID, at=time.time() - 49 * 3600)
    with pytest.raises(WechatUnreachable):
        gw.send_text(OPENID, "还是太久")
    fake_wechat.user_wrote(OPENID)
    gw.send_text(OPENID, "用户刚发过消息")
    assert len(fake_wechat.sent) == 1


@pytest.mark.parametrize("code", [43101, 45047])
def test_fwx_refused_and_reply_count_recorded(
    fake_wechat: FakeWechat, redis_client: redis.Redis, code: int
) -> None:
    fake_wechat.user_wrote(OPENID)
    fake_wechat.inject(code)
    gw = make_gateway(fake_wechat, redis_client)
    with pytest.raises(WechatUnreachable):
        gw.send_text(OPENID, "x")
    assert gw.unreachable_code(OPENID) == code
    assert fake_wechat.requests.count("/cgi-bin/message/custom/send") == 1


def test_fwx_busy_backs_off_with_jitter_max_3(fake_wechat: FakeWechat, redis_client: redis.Redis) -> None:
    fake_wechat.user_wrote(OPENID)
    gw = make_gateway(fake_wechat, redis_client)
    fake_wechat.inject(-1, "/cgi-bin/message/custom/send", times=2)
    gw.send_text(OPENID, "第三次成功")
    assert len(gw.sleeps) == 2 and all(s > 0 for s in gw.sleeps)  # type: ignore[attr-defined]
    fake_wechat.inject(-1, "/cgi-bin/message/custom/send", times=3)
    before = fake_wechat.requests.count("/cgi-bin/message/custom/send")
    with pytest.raises(WechatApiError) as info:
        gw.send_text(OPENID, "三次都忙")
    assert info.value.errcode == -1
    assert fake_wechat.requests.count("/cgi-bin/message/custom/send") - before == 3


def test_fwx_timeout_is_a_clear_error(fake_wechat: FakeWechat, redis_client: redis.Redis) -> None:
    fake_wechat.user_wrote(OPENID)
    gw = make_gateway(fake_wechat, redis_client, timeout_s=0.3)
    gw.access_token()
    fake_wechat.inject("timeout", "/cgi-bin/message/custom/send")
    started = time.monotonic()
    with pytest.raises(WechatApiError) as info:
        gw.send_text(OPENID, "慢")
    assert time.monotonic() - started < 1.5
    assert info.value.errcode is None and "timeout" in info.value.message


def test_fwx_truncated_json_and_http_500(fake_wechat: FakeWechat, redis_client: redis.Redis) -> None:
    fake_wechat.user_wrote(OPENID)
    gw = make_gateway(fake_wechat, redis_client)
    gw.access_token()
    fake_wechat.inject("truncated", "/cgi-bin/message/custom/send")
    with pytest.raises(WechatApiError, match="garbled"):
        gw.send_text(OPENID, "x")
    fake_wechat.inject("http500", "/cgi-bin/message/custom/send")
    with pytest.raises(WechatApiError, match="http error 500"):
        gw.send_text(OPENID, "x")
    fake_wechat.inject("truncated", "/cgi-bin/stable_token")
    redis_client.delete(gw.token_key)
    gw._memory_token = None
    with pytest.raises(WechatApiError, match="not JSON"):
        gw.send_text(OPENID, "x")


def test_fwx_dns_failure_and_refused_connection() -> None:
    for base in ("http://api.weixin.invalid", f"http://127.0.0.1:{free_port()}"):
        gw = WechatGateway(app_id="wx1", app_secret="s", redis_client=None, api_base_url=base, timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(WechatApiError):
            gw.send_text(OPENID, "x")
        assert time.monotonic() - started < 3


def test_w16_fwx_40007_media_expired(fake_wechat: FakeWechat, redis_client: redis.Redis) -> None:
    gw = make_gateway(fake_wechat, redis_client)
    with pytest.raises(WechatMediaExpired):
        gw.download_media("EXPIRED")


def test_fwx_48001_no_permission(fake_wechat: FakeWechat, redis_client: redis.Redis) -> None:
    fake_wechat.inject(48001)
    gw = make_gateway(fake_wechat, redis_client)
    with pytest.raises(WechatApiError) as info:
        gw.create_menu({"button": [{"type": "click", "name": "a", "key": "b"}]})
    assert info.value.errcode == 48001


def test_fr2_token_kept_in_process_when_redis_is_down(fake_wechat: FakeWechat) -> None:
    fake_wechat.user_wrote(OPENID)
    dead = dead_redis()
    gw = make_gateway(fake_wechat, dead)
    gw.send_text(OPENID, "一")
    gw.send_text(OPENID, "二")
    assert fake_wechat.token_fetches == 1
    assert len(fake_wechat.sent) == 2


def test_fwx_45047_after_five_replies_per_user_message_and_45015_outside_the_window(
    fake_wechat: FakeWechat, redis_client: redis.Redis
) -> None:
    gw = make_gateway(fake_wechat, redis_client)
    with pytest.raises(WechatUnreachable) as closed:
        gw.send_text("oNeverWrote", "窗口外")
    assert closed.value.errcode == 45015
    fake_wechat.user_wrote(OPENID)
    for i in range(5):
        gw.send_text(OPENID, f"第{i + 1}条")
    with pytest.raises(WechatUnreachable) as counted:
        gw.send_text(OPENID, "第6条")
    assert counted.value.errcode == 45047
    fake_wechat.user_wrote(OPENID)  # the user writes again: five more
    gw.send_text(OPENID, "又可以了")
    assert len(fake_wechat.sent) == 6


class _CountingRedis(redis.Redis):
    """A Redis client that counts its MGET calls (the circuit-and-token reads)."""

    mgets = 0

    def mget(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
        self.mgets += 1
        return super().mget(*args, **kwargs)  # type: ignore[arg-type]


def test_fwx_a_worker_reads_token_and_circuit_a_few_times_a_second_not_per_message(
        fake_wechat: FakeWechat, redis_server: object, redis_client: redis.Redis) -> None:
    client = _CountingRedis.from_url(redis_server.url)  # type: ignore[attr-defined]
    gw = make_gateway(fake_wechat, client, state_ttl_s=60.0)
    gw.access_token()  # the first token, fetched and shared
    for i in range(5):
        gw.send_template(f"oKeep{i}", "TPL", {}, client_msg_id=f"keep{i}")
    assert client.mgets == 1
    # A token refused (42001) is refreshed at once, and the new one is used from then on.
    fake_wechat.expire_all_tokens()
    gw.send_template("oKeep5", "TPL", {}, client_msg_id="keep5")
    gw.send_template("oKeep6", "TPL", {}, client_msg_id="keep6")
    assert fake_wechat.token_fetches == 2 and len(fake_wechat.templates) == 7
    # A quota circuit this process opened is kept from the next message on.
    fake_wechat.inject(45009, "/cgi-bin/message/template/send")
    with pytest.raises(WechatQuotaExceeded):
        gw.send_template("oKeep7", "TPL", {}, client_msg_id="keep7")
    before = fake_wechat.requests.count("/cgi-bin/message/template/send")
    with pytest.raises(WechatQuotaExceeded, match="circuit"):
        gw.send_template("oKeep8", "TPL", {}, client_msg_id="keep8")
    assert fake_wechat.requests.count("/cgi-bin/message/template/send") == before
    client.close()
