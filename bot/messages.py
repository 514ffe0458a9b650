"""The few customer-facing sentences the webhook itself says (short and plain, for elderly users)."""

from __future__ import annotations

BUSY = "系统繁忙，请稍后再发一次。"
NO_HANDLER = "客服暂时不在线，请稍后再发一次。"
