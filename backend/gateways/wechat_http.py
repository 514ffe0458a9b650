"""A pooled keep-alive JSON poster for the WeChat API's hot calls (template and subscribe messages).

wechatpy goes through ``requests`` (a ``Session`` whose pool keeps 10 connections: with more threads
than that, each extra call opens a new TCP connection) and its ``access_token`` property reads the
shared token again on every call. Measured in ``tests/bench/bench_notices_send.py``: the HTTP call
was most of a notice's time. Here urllib3's thread-safe pool (one keep-alive connection per sending
thread, never more than ``maxsize``) posts the JSON with the token the caller already holds, and the
answer is read the way wechatpy reads it: a non-zero ``errcode`` is a :class:`WeChatApiAnswer`, any
transport failure a :class:`WechatApiError` with the same words as the wechatpy path.
"""

from __future__ import annotations

import json
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError, TimeoutError

from backend.gateways.exceptions import WechatApiError

_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}


class WeChatApiAnswer(Exception):
    """WeChat answered with a non-zero ``errcode`` (the gateway's policy decides what follows)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class JsonPoster:
    """POST a JSON body, get a JSON object back, over pooled keep-alive connections."""

    def __init__(self, *, timeout_s: float, maxsize: int = 32) -> None:
        self.timeout = urllib3.Timeout(total=timeout_s)
        self.pool = urllib3.PoolManager(num_pools=4, maxsize=maxsize, block=False, retries=False)

    def post(self, url: str, body: dict[str, Any], *, access_token: str) -> dict[str, Any]:
        """The answer of ``url?access_token=…`` to ``body`` (see the module doc)."""
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            res = self.pool.urlopen("POST", f"{url}?access_token={access_token}", body=data,
                                    headers=_HEADERS, timeout=self.timeout, retries=False, redirect=False)
        except TimeoutError:
            raise WechatApiError(None, "timeout") from None
        except HTTPError as exc:
            raise WechatApiError(None, f"network error: {type(exc).__name__}") from None
        if res.status >= 400:
            raise WechatApiError(None, f"http error {res.status}")
        try:
            result = json.loads(res.data.decode("utf-8", "ignore"), strict=False)
        except ValueError:
            raise WechatApiError(None, "garbled answer") from None
        if not isinstance(result, dict):
            raise WechatApiError(None, "garbled answer")
        errcode = int(result.get("errcode") or 0)
        if errcode != 0:
            raise WeChatApiAnswer(errcode, str(result.get("errmsg", errcode)))
        return result

    def close(self) -> None:
        self.pool.clear()
