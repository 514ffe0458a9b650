"""What the outbound gateways raise (``backend.gateways.wechat`` raises these; callers in bot/ catch
them to decide between a retry, another channel, or asking the customer again)."""

from __future__ import annotations


class WechatApiError(Exception):
    """A WeChat API call failed; ``errcode`` is WeChat's code, or None for network/garbled answers."""

    def __init__(self, errcode: int | None, message: str) -> None:
        super().__init__(f"wechat api error {errcode}: {message}")
        self.errcode = errcode
        self.message = message


class WechatUnreachable(WechatApiError):
    """WeChat will not deliver to this user now (45015 window closed, 43101 refused, 45047 count)."""


class WechatQuotaExceeded(WechatApiError):
    """The account's API quota is used up (45009/45011); the circuit is open."""


class WechatMediaExpired(WechatApiError):
    """The media id expired (40007): ask the user to send the file again."""
