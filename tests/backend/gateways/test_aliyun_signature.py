"""Aliyun's documented RPC v1 signature examples, signed by the SDK our SMS gateway uses and checked by
the fake Aliyun SMS server the notice tests send to: if either drifted from the real service, a test
passing against the fake could fail in production.

The vectors are Aliyun's own: the SendSms example of the SMS "签名机制" page (key ``testSecret&``, case
matters) and the DescribeRegions example of the ECS RPC signature page.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from aliyunsdkcore.auth.algorithm import sha_hmac1
from aliyunsdkcore.auth.composer import rpc_signature_composer

from tests.support.fake_aliyun_sms import FakeAliyunSms, rpc_signature, string_to_sign

SMS_EXAMPLE = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
    "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25"}
SMS_SECRET, SMS_SIGNATURE = "testSecret", "zJDF+Lrzhj/ThnlvIToysFRq6t4="

ECS_EXAMPLE = {
    "AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
    "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
ECS_SECRET, ECS_SIGNATURE = "testsecret", "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
ECS_STRING_TO_SIGN = ("GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
                      "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
                      "%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26")

VECTORS = [pytest.param(SMS_EXAMPLE, SMS_SECRET, SMS_SIGNATURE, id="sendsms"),
           pytest.param(ECS_EXAMPLE, ECS_SECRET, ECS_SIGNATURE, id="describeregions")]


@pytest.mark.parametrize(("params", "secret", "expected"), VECTORS)
def test_the_fake_servers_signature_reproduces_aliyuns_examples(params: dict[str, str], secret: str,
                                                               expected: str) -> None:
    assert string_to_sign("GET", params).startswith("GET&%2F&AccessKeyId%3D")
    assert rpc_signature("GET", params, secret) == expected


def test_the_string_to_sign_is_aliyuns_documented_one() -> None:
    assert string_to_sign("GET", ECS_EXAMPLE) == ECS_STRING_TO_SIGN


@pytest.mark.parametrize(("params", "secret", "expected"), VECTORS)
def test_the_sdk_signer_reproduces_aliyuns_examples(params: dict[str, str], secret: str,
                                                    expected: str) -> None:
    """aliyun-python-sdk-core's own RPC composer and HMAC-SHA1 signer (the code that signs our SendSms)."""
    compose = getattr(rpc_signature_composer, "__compose_string_to_sign")
    sign = getattr(rpc_signature_composer, "__get_signature")
    to_sign = compose("GET", dict(params))
    assert to_sign == string_to_sign("GET", params)
    assert sign(to_sign, secret, sha_hmac1) == expected
    assert sha_hmac1.get_sign_string(to_sign, secret + "&") == expected


@pytest.fixture
def example_fake() -> Iterator[FakeAliyunSms]:
    fake = FakeAliyunSms(access_key_id="testId", access_key_secret=SMS_SECRET, sign_name="阿里云短信测试专用")
    fake.start()
    yield fake
    fake.stop()


def _get(fake: FakeAliyunSms, params: dict[str, str]) -> dict[str, str]:
    body: dict[str, str] = httpx.get(f"http://{fake.endpoint}/", params=params, timeout=5).json()
    return body


def test_the_fake_server_accepts_the_documented_signature(example_fake: FakeAliyunSms) -> None:
    """The example passes the signature check; only its 2017 timestamp is then refused, as Aliyun would."""
    answer = _get(example_fake, {**SMS_EXAMPLE, "Signature": SMS_SIGNATURE})
    assert answer["Code"] == "InvalidTimeStamp.Expired"
    assert example_fake.sent == []


@pytest.mark.parametrize("change", [
    {"Signature": "zJDF+Lrzhj/ThnlvIToysFRq6t4X"},  # one character off
    {"PhoneNumbers": "15300000002"},  # a signed parameter changed on the way
    {"SignName": "阿里云短信测试专"}])
def test_the_fake_server_refuses_a_signature_that_does_not_match(example_fake: FakeAliyunSms,
                                                                 change: dict[str, str]) -> None:
    answer = _get(example_fake, {**SMS_EXAMPLE, "Signature": SMS_SIGNATURE, **change})
    assert answer["Code"] == "SignatureDoesNotMatch"


def test_the_secret_is_case_sensitive() -> None:
    assert rpc_signature("GET", SMS_EXAMPLE, SMS_SECRET.lower()) != SMS_SIGNATURE
