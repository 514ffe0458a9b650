"""Aliyun SMS (Dysmsapi 2017-05-25) through aliyun-python-sdk-core: SendSms and QuerySendDetails.

SendSms is not idempotent and the SDK never retries it (its retry table lists ECS APIs only): every
send carries ``OutId`` (our idempotency key), and after an ambiguous outcome the sender asks
QuerySendDetails for that ``OutId`` before sending again. Business errors come back as HTTP 200 with
``Code`` other than ``OK``; signature and permission errors as HTTP 4xx (``ServerException``).
The endpoint (``host[:port]``) and protocol are settings, so tests talk to a local fake that checks
the RPC v1 HMAC-SHA1 signature like the real service.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

log = logging.getLogger(__name__)

VERSION = "2017-05-25"
# Codes after which sending the same message again can never work (fix the cause first).
PERMANENT = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS", "isv.INVALID_JSON_PARAM",
    "isv.PARAM_LENGTH_LIMIT", "isv.INVALID_PARAMETERS", "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL", "isv.SIGN_STATE_ILLEGAL", "isv.SMS_SIGNATURE_SCENE_ILLEGAL",
    "isv.BLACK_KEY_CONTROL_LIMIT", "isv.SMS_CONTENT_ILLEGAL", "isv.DENY_IP_RANGE",
    "isp.RAM_PERMISSION_DENY", "InvalidAccessKeyId.NotFound", "SignatureDoesNotMatch",
})
# Per-number or account limits: try again later (the next day for a daily limit).
LIMITED = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL",
                     "isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE", "Throttling.User"})


class SmsError(Exception):
    """A send or query failed. ``code`` is Aliyun's (None: network, timeout, garbled answer: the
    outcome of a send is then unknown)."""

    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(f"sms error {code}: {message}")
        self.code = code
        self.message = message

    @property
    def permanent(self) -> bool:
        return self.code in PERMANENT

    @property
    def limited(self) -> bool:
        return self.code in LIMITED

    @property
    def ambiguous(self) -> bool:
        """The message may have been sent (no answer, or a system error)."""
        return self.code is None or self.code == "isp.SYSTEM_ERROR"


@dataclass(frozen=True)
class SentSms:
    """One entry of QuerySendDetails: ``status`` 1 waiting for the receipt, 2 failed, 3 delivered."""

    out_id: str
    status: int
    err_code: str
    biz_id: str | None


class SmsGateway:
    """SendSms / QuerySendDetails with one signature name."""

    def __init__(self, *, access_key_id: str, access_key_secret: str, sign_name: str,
                 region_id: str = "cn-hangzhou", endpoint: str = "dysmsapi.aliyuncs.com",
                 protocol: str = "https", timeout_s: float = 5.0) -> None:
        self.sign_name = sign_name
        self.endpoint = endpoint
        self.protocol = protocol
        self.region_id = region_id
        self.client = AcsClient(access_key_id, access_key_secret, region_id, auto_retry=False,
                                max_retry_time=0, timeout=timeout_s, connect_timeout=min(timeout_s, 3.0),
                                pool_size=32)

    @classmethod
    def from_settings(cls, settings: Any) -> SmsGateway:
        """From ``config.settings.SmsSettings``."""
        return cls(access_key_id=settings.access_key_id,
                   access_key_secret=settings.access_key_secret.get_secret_value(),
                   sign_name=settings.sign_name, region_id=settings.region_id, endpoint=settings.endpoint,
                   protocol=settings.protocol, timeout_s=settings.timeout_s)

    def _call(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        request = CommonRequest(domain=self.endpoint, version=VERSION, action_name=action)
        request.set_accept_format("json")
        request.set_method("POST")
        request.set_protocol_type(self.protocol)
        request.add_query_param("RegionId", self.region_id)
        for key, value in params.items():
            request.add_query_param(key, value)
        try:
            raw = self.client.do_action_with_exception(request)
        except ServerException as exc:  # HTTP ≥ 300: signature, permission, throttling
            # The message of a signature error quotes the string to sign, phone number included.
            message = (exc.get_error_msg() or "refused").split(" server string to sign")[0][:120]
            raise SmsError(exc.get_error_code(), message) from None
        except ClientException as exc:  # network, timeout
            raise SmsError(None, f"{exc.get_error_code()}") from None
        try:
            body = json.loads(raw)
        except (ValueError, TypeError):
            raise SmsError(None, "garbled answer") from None
        if not isinstance(body, dict):
            raise SmsError(None, "garbled answer")
        if body.get("Code") != "OK":
            raise SmsError(str(body.get("Code")), str(body.get("Message", ""))[:200])
        return body

    def send(self, *, phone: str, template_code: str, params: dict[str, str], out_id: str) -> str:
        """Send one SMS; its ``BizId``. SmsError otherwise (see ``ambiguous``)."""
        body = self._call("SendSms", {
            "PhoneNumbers": phone, "SignName": self.sign_name, "TemplateCode": template_code,
            "TemplateParam": json.dumps(params, ensure_ascii=False), "OutId": out_id})
        return str(body.get("BizId", ""))

    def find_sent(self, *, phone: str, out_id: str, day: dt.date) -> SentSms | None:
        """The SMS sent to ``phone`` on ``day`` (Asia/Shanghai) with our ``out_id``, if any."""
        page = 1
        while True:
            body = self._call("QuerySendDetails", {
                "PhoneNumber": phone, "SendDate": day.strftime("%Y%m%d"), "PageSize": "50",
                "CurrentPage": str(page)})
            items = (body.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
            for item in items:
                if str(item.get("OutId", "")) == out_id:
                    return SentSms(out_id=out_id, status=int(item.get("SendStatus", 1)),
                                   err_code=str(item.get("ErrCode", "")), biz_id=item.get("BizId"))
            if len(items) < 50 or page >= 20:
                return None
            page += 1
