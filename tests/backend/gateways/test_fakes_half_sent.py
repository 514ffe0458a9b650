"""The fake providers act only on a request that arrived whole: a sender killed after its headers but
before its body (SIGKILL mid-send, F-W1) sends nothing, as at the real servers. A fake that took the
empty body for a message counted a template WeChat would never have sent."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
import requests

from tests.support.fake_aliyun_sms import FakeAliyunSms
from tests.support.fake_wechat import FakeWechat


@pytest.fixture
def wechat() -> Iterator[FakeWechat]:
    fake = FakeWechat().start()
    yield fake
    fake.stop()


def _token(fake: FakeWechat) -> str:
    answer = requests.get(f"{fake.url}/cgi-bin/token", params={
        "grant_type": "client_credential", "appid": fake.app_id, "secret": fake.app_secret}, timeout=5)
    return str(answer.json()["access_token"])


def _headers_then_die(url: str, path: str, length: int, body_part: bytes) -> None:
    """Send a POST's headers and part of its body, then close the socket (the sender died)."""
    u = urlparse(url)
    with socket.create_connection((u.hostname, u.port), timeout=5) as sock:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {u.hostname}\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {length}\r\n\r\n").encode() + body_part)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(5)
        assert sock.recv(1024) == b""  # no answer: the fake closes the connection


@pytest.mark.parametrize("body_part", [b"", b'{"touser": "oX'], ids=["headers only", "half a body"])
def test_a_template_request_cut_off_mid_body_sends_nothing__f_w1(wechat: FakeWechat,
                                                                 body_part: bytes) -> None:
    token = _token(wechat)
    _headers_then_die(wechat.url, f"/cgi-bin/message/template/send?access_token={token}", 200, body_part)
    assert wechat.delivered() == {}
    whole = requests.post(f"{wechat.url}/cgi-bin/message/template/send", params={"access_token": token},
                          data=json.dumps({"touser": "oWhole", "template_id": "t", "data": {},
                                           "client_msg_id": "c1"}), timeout=5).json()
    assert whole["errcode"] == 0 and wechat.delivered() == {"c1": 1}


def test_a_template_without_a_recipient_or_with_broken_json_is_refused(wechat: FakeWechat) -> None:
    token = _token(wechat)
    url = f"{wechat.url}/cgi-bin/message/template/send"
    no_user = requests.post(url, params={"access_token": token}, data=b"{}", timeout=5).json()
    broken = requests.post(url, params={"access_token": token}, data=b'{"touser": "oX"', timeout=5).json()
    assert (no_user["errcode"], broken["errcode"]) == (40003, 47001)
    assert wechat.delivered() == {}


def test_an_sms_request_cut_off_mid_body_sends_nothing__f_w1() -> None:
    sms = FakeAliyunSms().start()
    try:
        _headers_then_die(f"http://{sms.endpoint}", "/", 300, b"Action=SendSms&")
        assert sms.by_out_id() == {} and sum(sms.requests.values()) == 0
    finally:
        sms.stop()
