"""What the app factory's lifespan (and every admin command) builds once and hands out.

No import-time globals: :func:`build_runtime` opens the database, Redis, the key ring and the
product catalog from the settings, and :meth:`Runtime.close` releases them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import redis
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from backend.calendar.service import WorkingCalendar
from backend.db import make_engine, make_sessionmaker, utcnow
from backend.embedded_redis import EmbeddedRedisError
from backend.errors import StartupError
from backend.products.service import ProductCatalog, load_catalog
from backend.redis_conn import RedisHandle, open_redis
from backend.security.crypto import FieldCipher
from backend.storage import FileStore, LocalFileStore
from config.settings import Settings

if TYPE_CHECKING:
    from backend.gateways.miniprogram import MiniProgramGateway
    from backend.gateways.wechat import WechatGateway
    from intents import NLU

log = logging.getLogger(__name__)

# StartupError too: bot/ imports it from here.
__all__ = ["Runtime", "StartupError", "build_runtime", "check_database", "check_redis"]


ReadinessWarnings = Callable[[], list[str]]


@dataclass
class Runtime:
    """Long-lived resources of one process.

    The first seven are built by :func:`build_runtime`; the rest are filled in at start-up. The
    WeChat adapter's objects are typed ``Any`` because ``backend`` may not import ``bot`` (their
    types are named in the comments).
    """

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis_handle: RedisHandle
    redis: redis.Redis
    cipher: FieldCipher
    catalog: ProductCatalog
    # The current UTC time; tests set a controllable clock.
    clock: Callable[[], dt.datetime] = utcnow
    # The intent model, loaded once (``bot.dialogue.engine.build_engine`` loads it if absent).
    nlu: NLU | None = None
    # /readyz warnings: each callable returns the current warnings (e.g. missing holiday data).
    readiness_warnings: list[ReadinessWarnings] = field(default_factory=list)
    # The dialogue engine answering each inbound message (bot.dialogue.engine.DialogueEngine).
    turn_handler: Any = None
    # A chat channel's message through that engine, exactly once (bot.chat_turn.run_chat_turn bound
    # to this runtime; keywords channel, user_id, text, msg_key): the web chat page uses it.
    chat_turn: Callable[..., bool] | None = None
    # The webhook context, when WeChat is configured (bot.webhook.WechatContext).
    wechat: Any = None
    # The outbound WeChat API client, when the AppSecret is set.
    wechat_gateway: WechatGateway | None = None
    # The Redis circuit breaker shared by the webhook and the dialogue state (bot.redis_guard.RedisGuard).
    redis_guard: Any = None
    # Where files live (claim documents, WeChat media): encrypted local disk under var/files by default.
    files: FileStore | None = None
    # The mini-program's WeChat API (jscode2session, phone numbers), when its AppId and secret are set.
    miniprogram_gateway: MiniProgramGateway | None = None

    def __post_init__(self) -> None:
        if self.files is None:
            self.files = LocalFileStore(self.settings.var_dir / "files", self.cipher)

    @property
    def file_store(self) -> FileStore:
        """The file store (always set after construction)."""
        assert self.files is not None
        return self.files

    @cached_property
    def calendar(self) -> WorkingCalendar:
        """The working-day calendar of the settings' holidays file, loaded on first use (at start-up);
        ``python -m backend calendar reload`` assigns a new one."""
        return WorkingCalendar.load(self.settings.holidays_file)

    def close(self) -> None:
        """Release connections and stop the embedded Redis."""
        try:
            self.redis.close()
        finally:
            self.engine.dispose()
            self.redis_handle.close()


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def check_database(engine: Engine) -> None:
    """Raise StartupError unless the database answers."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise StartupError(
            f"数据库连不上 / database unreachable at {_safe_url(str(engine.url))}: "
            f"{type(exc).__name__}. Check DATABASE_URL (CS_DB__URL) and that the server runs."
        ) from exc


def check_redis(client: redis.Redis, url: str) -> None:
    """Raise StartupError unless Redis answers."""
    try:
        client.ping()
    except Exception as exc:
        raise StartupError(
            f"Redis 连不上 / Redis unreachable at {_safe_url(url)}: {type(exc).__name__}. "
            "Check REDIS_URL (CS_REDIS__URL) and that the server runs."
        ) from exc


def check_secrets(settings: Settings) -> None:
    """Raise StartupError when production runs on a development value published with the source."""
    published = settings.published_development_values() if settings.mode == "production" else []
    if published:
        raise StartupError(
            "生产模式不能使用公开的开发密钥 / production mode refuses the development values published in "
            f"config/settings.py: {', '.join(published)}. Set your own secret values."
        )


def build_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    """Open everything, check it answers, and bring the schema up to date."""
    from backend.migrate import upgrade_to_head

    check_secrets(settings)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    try:
        catalog = load_catalog(
            products_dir=settings.products_dir, default_id=settings.default_product_id
        )
    except Exception as exc:
        raise StartupError(f"产品配置有误 / product files invalid: {exc}") from exc
    cipher = FieldCipher.from_config(
        keys_json=settings.crypto.keys.get_secret_value(),
        active_key_id=settings.crypto.active_key_id,
        blind_index_key=settings.crypto.blind_index_key.get_secret_value(),
    )
    engine = make_engine(
        settings.database_url_effective,
        statement_timeout_ms=settings.db.statement_timeout_ms,
        idle_in_transaction_timeout_ms=settings.db.idle_in_transaction_timeout_ms,
        connect_timeout_s=settings.db.connect_timeout_s,
        pool_size=settings.db.pool_size,
    )
    try:
        check_database(engine)
        handle = open_redis(
            url=settings.redis.url,
            var_dir=settings.var_dir,
            socket_timeout=settings.redis.socket_timeout_s,
            connect_timeout=settings.redis.connect_timeout_s,
        )
    except EmbeddedRedisError as exc:
        engine.dispose()
        raise StartupError(f"内置 Redis 启动失败 / embedded Redis: {exc}") from exc
    except Exception:
        engine.dispose()
        raise
    client = handle.sync_client()
    try:
        check_redis(client, handle.url)
        if migrate:
            upgrade_to_head(engine, cipher=cipher)
    except Exception:
        client.close()
        engine.dispose()
        handle.close()
        raise
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine, audit_key=settings.audit.chain_key.get_secret_value().encode()),
        redis_handle=handle,
        redis=client,
        cipher=cipher,
        catalog=catalog,
    )
