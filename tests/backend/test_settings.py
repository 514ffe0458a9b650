"""Settings: URL aliases, embedded defaults (a development WeChat account too), and no usable secret outside
local mode: none missing, none of the development values published in config/settings.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from backend.app import create_app
from backend.errors import StartupError
from backend.runtime import Runtime, build_runtime
from config.settings import Settings
from tests.support.service import admin, clean_env


def test_local_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for var in ("DATABASE_URL", "REDIS_URL", "CS_DB__URL", "CS_REDIS__URL"):
        monkeypatch.delenv(var, raising=False)
    s = Settings(var_dir=tmp_path)
    assert s.database_url_effective == f"sqlite:///{tmp_path / 'service.sqlite3'}"
    assert s.redis.url == ""


def test_conventional_url_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("REDIS_URL", "redis://h:6379/1")
    s = Settings()
    assert s.database_url_effective == "postgresql+psycopg://u@h/db"
    assert s.redis.url == "redis://h:6379/1"


def test_production_refuses_default_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CS_MODE", "production")
    for var in ("CS_CRYPTO__KEYS", "CS_CRYPTO__BLIND_INDEX_KEY", "CS_AUTH__SESSION_SECRET"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "CS_CRYPTO__KEYS" in str(err.value)


# ------------------------------------------------------------ issue 8 item 13: published development values
# The development keys are in config/settings.py, in a public repository: production must refuse them even
# when someone copies them into the environment. They are read from a local-mode Settings made with no
# setting in the environment, the way anyone reading the source would find them.
_REAL_KEY = "cHJvZHVjdGlvbi1rZXktMzItYnl0ZXMtbG9uZy4uLi4="
_REAL = {
    "CS_CRYPTO__KEYS": json.dumps({"prod1": _REAL_KEY}),
    "CS_CRYPTO__ACTIVE_KEY_ID": "prod1",
    "CS_CRYPTO__BLIND_INDEX_KEY": "a-real-blind-index-key-from-the-vault",
    "CS_AUTH__SESSION_SECRET": "a-real-session-secret-from-the-vault",
    "CS_AUDIT__CHAIN_KEY": "a-real-audit-chain-key-from-the-vault",
    "CS_WECHAT__TOKEN": "a-real-wechat-token",
    "CS_WECHAT__APP_ID": "wx2c2769f8efd9abc2",
    "CS_WECHAT__ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}
_PUBLISHED = ["CS_AUDIT__CHAIN_KEY", "CS_AUTH__SESSION_SECRET", "CS_CRYPTO__BLIND_INDEX_KEY",
              "CS_CRYPTO__KEYS", "CS_WECHAT__ENCODING_AES_KEY", "CS_WECHAT__TOKEN"]


def _published(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    with monkeypatch.context() as m:
        for var in list(os.environ):
            if var.startswith("CS_"):
                m.delenv(var)
        dev = Settings(mode="local")
    values = {
        "CS_CRYPTO__KEYS": dev.crypto.keys.get_secret_value(),
        "CS_CRYPTO__BLIND_INDEX_KEY": dev.crypto.blind_index_key.get_secret_value(),
        "CS_AUTH__SESSION_SECRET": dev.auth.session_secret.get_secret_value(),
        "CS_AUDIT__CHAIN_KEY": dev.audit.chain_key.get_secret_value(),
        "CS_WECHAT__TOKEN": dev.wechat.token.get_secret_value(),
        "CS_WECHAT__ENCODING_AES_KEY": dev.wechat.encoding_aes_key.get_secret_value(),
    }
    assert sorted(values) == _PUBLISHED
    return values


def _production_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **overrides: str) -> None:
    for var in list(os.environ):
        if var.startswith("CS_") or var in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.delenv(var)
    for var, value in {**_REAL, "CS_MODE": "production", "CS_VAR_DIR": str(tmp_path), **overrides}.items():
        monkeypatch.setenv(var, value)


def _refusal(settings: Settings) -> str:
    """The StartupError message of build_runtime (a runtime built by mistake is closed again)."""
    try:
        runtime = build_runtime(settings)
    except StartupError as exc:
        return str(exc)
    runtime.close()
    raise AssertionError("production started with a published development value")


@pytest.mark.parametrize("setting", _PUBLISHED)
def test_production_refuses_each_published_development_secret(setting: str, monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    published = _published(monkeypatch)
    assert published[setting]
    _production_env(monkeypatch, tmp_path, **{setting: published[setting]})
    if setting == "CS_CRYPTO__KEYS":
        monkeypatch.delenv("CS_CRYPTO__ACTIVE_KEY_ID")
    message = _refusal(Settings())
    assert setting in message
    assert [name for name in _PUBLISHED if name in message] == [setting]
    assert not (tmp_path / "service.sqlite3").exists()  # refused before anything was opened


def test_production_refuses_the_published_field_key_under_another_id(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    dev_key = next(iter(json.loads(_published(monkeypatch)["CS_CRYPTO__KEYS"]).values()))
    # The development key kept "for decryption only" beside a real active key.
    keys = json.dumps({"prod1": _REAL_KEY, "old": dev_key})
    _production_env(monkeypatch, tmp_path, CS_CRYPTO__KEYS=keys)
    assert "CS_CRYPTO__KEYS" in _refusal(Settings())


def test_production_command_names_the_published_secret_without_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = _published(monkeypatch)["CS_AUTH__SESSION_SECRET"]
    env = clean_env(tmp_path / "var", **{**_REAL, "CS_MODE": "production", "CS_AUTH__SESSION_SECRET": secret})
    out = admin(env, "crypto", "status")
    assert out.returncode == 2
    assert "CS_AUTH__SESSION_SECRET" in out.stderr and "Traceback" not in out.stderr
    assert secret not in out.stderr


def test_production_command_names_missing_secrets_without_a_traceback(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "var", CS_MODE="production")
    out = admin(env, "crypto", "status")
    assert out.returncode == 2
    assert "CS_CRYPTO__KEYS" in out.stderr and "Traceback" not in out.stderr


# ------------------------------------------------------------ issue 8 item 16: a development official account
def _without_wechat(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CS_WECHAT__TOKEN", "CS_WECHAT__APP_ID", "CS_WECHAT__ENCODING_AES_KEY"):
        monkeypatch.delenv(var, raising=False)


def test_local_mode_has_a_development_wechat_account(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_wechat(monkeypatch)
    wechat = Settings(mode="local").wechat
    assert wechat.configured and wechat.mode == "safe" and wechat.app_id
    assert len(wechat.encoding_aes_key.get_secret_value()) == 43


def test_local_mode_does_not_mix_development_values_into_a_real_account(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _without_wechat(monkeypatch)
    monkeypatch.setenv("CS_WECHAT__TOKEN", "my-real-token")
    wechat = Settings(mode="local").wechat
    assert wechat.token.get_secret_value() == "my-real-token"
    assert wechat.app_id == "" and wechat.encoding_aes_key.get_secret_value() == ""  # the start-up check says


def test_production_without_a_wechat_account_does_not_start(runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    _production_env(monkeypatch, tmp_path)
    _without_wechat(monkeypatch)
    settings = Settings()
    assert not settings.wechat.configured
    app = create_app(settings, runtime_factory=lambda _s: runtime)
    runtime.close = lambda: None  # type: ignore[method-assign]
    with pytest.raises(StartupError, match="CS_WECHAT__TOKEN"), TestClient(app):
        pass
