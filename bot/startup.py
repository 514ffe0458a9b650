"""Start-up of the WeChat adapter: check the settings and build the webhook context and gateway.

The app calls ``bot.startup.startup(runtime)`` after the runtime is built; it stores
``runtime.wechat`` (the webhook context) and ``runtime.wechat_gateway``.
"""

from __future__ import annotations

import logging
import pyexpat

from backend.gateways.wechat import WechatGateway
from backend.runtime import Runtime, StartupError
from bot.crypto import MessageCrypto
from bot.processing import Processor
from bot.redis_guard import RedisGuard
from bot.settings import WechatSettings
from bot.webhook import WechatContext

log = logging.getLogger(__name__)


def _expat_ok() -> bool:
    version = tuple(int(p) for p in pyexpat.EXPAT_VERSION.split("_")[-1].split("."))
    return version >= (2, 4, 1)


def check_settings(settings: WechatSettings) -> None:
    """Raise StartupError when the settings are unsafe or incomplete."""
    if not _expat_ok():
        raise StartupError(f"expat {pyexpat.EXPAT_VERSION} is vulnerable to entity bombs: need ≥ 2.4.1")
    if not settings.token.get_secret_value():
        raise StartupError("CS_WECHAT__TOKEN is not set")
    if settings.mode != "safe" and not settings.allow_insecure_modes:
        raise StartupError(
            f"WeChat mode '{settings.mode}' does not sign the message body: use mode=safe, or set "
            "CS_WECHAT__ALLOW_INSECURE_MODES=true on a local/development machine only"
        )
    if settings.mode != "plaintext" and not settings.encoding_aes_key.get_secret_value():
        raise StartupError(f"WeChat mode '{settings.mode}' needs CS_WECHAT__ENCODING_AES_KEY")
    if settings.mode != "plaintext" and not settings.app_id:
        raise StartupError("CS_WECHAT__APP_ID is not set")


def build_context(runtime: Runtime, settings: WechatSettings, *, gateway: WechatGateway | None = None,
                  guard_open_s: float = 5.0, turn_threads: int = 2) -> WechatContext:
    """The webhook context over this runtime."""
    check_settings(settings)
    try:
        crypto = MessageCrypto(
            token=settings.token.get_secret_value(), app_id=settings.app_id,
            encoding_aes_key=settings.encoding_aes_key.get_secret_value(),
            previous_encoding_aes_key=settings.previous_encoding_aes_key.get_secret_value(),
        )
    except ValueError as exc:
        raise StartupError(f"EncodingAESKey invalid: {exc}") from exc
    if gateway is None and settings.app_id and settings.app_secret.get_secret_value():
        gateway = WechatGateway(
            app_id=settings.app_id, app_secret=settings.app_secret.get_secret_value(),
            redis_client=runtime.redis, api_base_url=settings.api_base_url, timeout_s=settings.api_timeout_s,
        )
    guard = RedisGuard(runtime.redis, open_s=guard_open_s)
    runtime.redis_guard = guard  # shared with the dialogue state store (one circuit)
    processor = Processor(runtime=runtime, settings=settings, guard=guard, gateway=gateway,
                          max_workers=turn_threads)
    return WechatContext(settings=settings, crypto=crypto, processor=processor, guard=guard)


def startup(runtime: Runtime, settings: WechatSettings | None = None) -> None:
    """Build the webhook context and the outbound gateway and store them in the runtime."""
    settings = settings or getattr(runtime.settings, "wechat", None) or WechatSettings()
    ctx = build_context(runtime, settings)
    runtime.wechat = ctx
    runtime.wechat_gateway = ctx.processor.gateway
    if ctx.processor.gateway is None:
        runtime.readiness_warnings.append(
            lambda: ["WeChat AppSecret not set: replies that miss the 5 s window cannot be sent"])


def shutdown(runtime: Runtime) -> None:
    """Stop the webhook's worker threads."""
    ctx = runtime.wechat
    if isinstance(ctx, WechatContext):
        ctx.processor.close()
