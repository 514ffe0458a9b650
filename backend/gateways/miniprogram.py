"""The mini-program's outbound WeChat API: ``jscode2session`` (login) and ``getuserphonenumber``.

``getuserphonenumber`` needs the mini-program's access token: it goes through a
:class:`~backend.gateways.wechat.WechatGateway` built with the mini-program's AppId and secret (the
shared token, its lock and the error policy). ``jscode2session`` takes the AppSecret instead of a
token and has its own answers (catalogue M-01): 40029 (the code is wrong, used or older than 5
minutes) → :class:`CodeInvalid`; 45011 (more than 100 logins a minute for this user) →
:class:`LoginRateLimited`, which must NOT pause the app's other calls; -1 (busy) → one retry, then
:class:`WechatApiError`; 40226 (a high-risk user WeChat blocks) → :class:`LoginBlocked`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
import requests

from backend.gateways.wechat import WechatApiError, WechatGateway

log = logging.getLogger(__name__)


class CodeInvalid(WechatApiError):
    """The login or phone code is wrong, used, or expired (40029)."""


class LoginRateLimited(WechatApiError):
    """Too many logins of this user in a minute (45011)."""


class LoginBlocked(WechatApiError):
    """WeChat refuses this user (40226, high risk)."""


@dataclass(frozen=True, slots=True)
class CodeSession:
    """What ``jscode2session`` returns. ``session_key`` must never leave the server (M-02)."""

    openid: str
    session_key: str
    unionid: str | None

    def __repr__(self) -> str:  # never print the key
        return f"CodeSession(openid={self.openid!r}, unionid={self.unionid!r}, session_key=***)"


@dataclass(frozen=True, slots=True)
class PhoneInfo:
    """A phone number WeChat verified, with its watermark."""

    phone: str
    country_code: str
    watermark_appid: str | None
    watermark_timestamp: int | None


class MiniProgramGateway:
    """Login and phone-number calls of one mini-program."""

    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        redis_client: redis.Redis | None,
        api_base_url: str = "https://api.weixin.qq.com",
        timeout_s: float = 3.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.app_id = app_id
        self._secret = app_secret
        self.api = WechatGateway(
            app_id=app_id,
            app_secret=app_secret,
            redis_client=redis_client,
            api_base_url=api_base_url,
            timeout_s=timeout_s,
            sleep=sleep,
        )
        self._http = requests.Session()
        self._sleep = sleep
        self.timeout_s = timeout_s
        self.base = api_base_url.rstrip("/")

    def _get_session(self, code: str) -> dict[str, Any]:
        params = {
            "appid": self.app_id,
            "secret": self._secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        try:
            res = self._http.get(f"{self.base}/sns/jscode2session", params=params, timeout=self.timeout_s)
            res.raise_for_status()
            data = res.json()
        except ValueError:  # requests' JSONDecodeError is a ValueError (and a RequestException)
            raise WechatApiError(None, "login answer is not JSON") from None
        except requests.RequestException as exc:
            raise WechatApiError(None, f"login request failed: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise WechatApiError(None, "garbled login answer")
        return data

    def code_to_session(self, code: str) -> CodeSession:
        """Exchange a ``wx.login`` code (single use, 5 minutes) for the user's openid and session key."""
        for attempt in range(2):
            data = self._get_session(code)
            errcode = int(data.get("errcode") or 0)
            if errcode == 0 and data.get("openid") and data.get("session_key"):
                unionid = data.get("unionid")
                return CodeSession(
                    openid=str(data["openid"]),
                    session_key=str(data["session_key"]),
                    unionid=str(unionid) if unionid else None,
                )
            if errcode == -1 and attempt == 0:
                self._sleep(0.2)
                continue
            if errcode == 40029 or errcode == 40163:  # 40163: code been used
                raise CodeInvalid(errcode, "login code invalid")
            if errcode == 45011:
                raise LoginRateLimited(errcode, "login rate limit")
            if errcode == 40226:
                raise LoginBlocked(errcode, "user blocked")
            raise WechatApiError(errcode or None, "login refused")
        raise WechatApiError(-1, "wechat busy")  # pragma: no cover - the loop returns or raises

    def phone_number(self, code: str) -> PhoneInfo:
        """The phone number behind a ``getPhoneNumber`` button code (single use, 5 minutes)."""
        try:
            data = self.api.post_json("wxa/business/getuserphonenumber", {"code": code})
        except WechatApiError as exc:
            if exc.errcode == 40029:
                raise CodeInvalid(40029, "phone code invalid") from None
            raise
        info = data.get("phone_info")
        if not isinstance(info, dict) or not info.get("purePhoneNumber"):
            raise WechatApiError(None, "phone answer without a number")
        raw_mark = info.get("watermark")
        mark: dict[str, Any] = raw_mark if isinstance(raw_mark, dict) else {}
        ts = mark.get("timestamp")
        return PhoneInfo(
            phone=str(info["purePhoneNumber"]),
            country_code=str(info.get("countryCode", "86")),
            watermark_appid=mark.get("appid"),
            watermark_timestamp=int(ts) if ts else None,
        )
