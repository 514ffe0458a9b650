"""The outside services a job may call, built once per process from the settings.

``build_services(runtime)`` returns a new dict: ``"wechat"`` (the official account's API),
``"miniprogram"`` (the mini-program's API: same protocol, its own AppID and token), ``"sms"`` (Aliyun
SMS) — each present only when configured — and ``"storage"`` (the encrypted
file store). The API process shares the gateway the WeChat
adapter built (``runtime.wechat_gateway``); a worker process builds its own.
"""

from __future__ import annotations

from typing import Any

from backend.runtime import Runtime

# A worker's gateways read the shared token and quota circuit from Redis at most every half second
# (``WechatGateway.state_ttl_s``), not once per message.
STATE_TTL_S = 0.5


def build_services(runtime: Runtime) -> dict[str, Any]:
    """The configured outside services (built once per worker)."""
    settings = runtime.settings
    services: dict[str, Any] = {}
    gateway: Any = runtime.wechat_gateway
    wechat = settings.wechat
    if gateway is None and wechat.app_id and wechat.app_secret.get_secret_value():
        from backend.gateways.wechat import WechatGateway

        gateway = WechatGateway(app_id=wechat.app_id, app_secret=wechat.app_secret.get_secret_value(),
                                redis_client=runtime.redis, api_base_url=wechat.api_base_url,
                                timeout_s=wechat.api_timeout_s, state_ttl_s=STATE_TTL_S)
    if gateway is not None:
        services["wechat"] = gateway
    mp = settings.miniprogram
    if runtime.miniprogram_gateway is not None:
        services["miniprogram"] = runtime.miniprogram_gateway.api
    elif mp.app_id and mp.app_secret.get_secret_value():
        from backend.gateways.wechat import WechatGateway as MiniProgramApi

        services["miniprogram"] = MiniProgramApi(
            app_id=mp.app_id, app_secret=mp.app_secret.get_secret_value(), redis_client=runtime.redis,
            api_base_url=mp.api_base_url, timeout_s=mp.api_timeout_s, state_ttl_s=STATE_TTL_S)
    if settings.sms.configured:
        from backend.gateways.sms import SmsGateway

        services["sms"] = SmsGateway.from_settings(settings.sms)
    services["storage"] = runtime.file_store
    return services
