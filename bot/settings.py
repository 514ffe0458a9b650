"""WeChat Official Account settings: a section of the service settings (env prefix ``CS_WECHAT__``)."""

from __future__ import annotations

from config.settings import WechatSettings

__all__ = ["WechatSettings"]
