"""Imports every domain's models so ``metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

from backend.db import Base

# One import line per domain with models (keep sorted).
import backend.roster.models  # noqa: F401,E402  isort: skip
import backend.claims.models  # noqa: F401,E402  isort: skip
import backend.complaints.models  # noqa: F401,E402  isort: skip
import backend.staff.models  # noqa: F401,E402  isort: skip
import backend.audit.models  # noqa: F401,E402  isort: skip
import backend.conversations.models  # noqa: F401,E402  isort: skip
import backend.conversations.turn_models  # noqa: F401,E402  isort: skip
import backend.handoff.models  # noqa: F401,E402  isort: skip

metadata = Base.metadata
