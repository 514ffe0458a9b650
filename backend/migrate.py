"""Bring the database schema to the newest Alembic revision (run by the app and admin commands)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config pointing at our migrations; with an engine, it migrates that engine."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.attributes["engine"] = engine
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade_to_head(engine: Engine) -> None:
    """Apply every pending migration to ``engine``'s database."""
    command.upgrade(alembic_config(engine), "head")
