"""WeChat Official Account settings (env prefix ``CS_WECHAT__``), to be nested in ``Settings`` later."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class WechatSettings(BaseSettings):
    """Token, AppId, keys and mode of the official account, and where its API lives."""

    model_config = SettingsConfigDict(env_prefix="CS_WECHAT__", env_file=None, extra="ignore")

    token: SecretStr = SecretStr("")
    app_id: str = ""
    app_secret: SecretStr = SecretStr("")
    encoding_aes_key: SecretStr = SecretStr("")
    # The key before the last rotation: messages WeChat encrypted with it still decrypt.
    previous_encoding_aes_key: SecretStr = SecretStr("")
    mode: Literal["plaintext", "compatible", "safe"] = "safe"
    # Plaintext and compatible modes sign nothing of the body: local/development only.
    allow_insecure_modes: bool = False
    api_base_url: str = "https://api.weixin.qq.com"
    api_timeout_s: float = 3.0
    passive_reply_budget_s: float = 4.0
    original_id: str = ""  # gh_... ; when set, the inner ToUserName must match
    timestamp_window_s: int = 300
    max_body_bytes: int = 256 * 1024
    dedupe_ttl_s: int = 900
    user_lock_ttl_s: float = 10.0
    menu_file: str = ""  # default: config/wechat_menu.yaml
