"""Settings: URL aliases, embedded defaults, and no usable secrets outside local mode."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.settings import Settings


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
