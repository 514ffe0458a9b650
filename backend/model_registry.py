"""Imports every domain's models so ``metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

import backend.accounts.models
import backend.audit.models
import backend.claims.models
import backend.complaints.models
import backend.conversations.models
import backend.conversations.turn_models
import backend.idempotency.models
import backend.jobs.models
import backend.notices.models
import backend.notifications.models
import backend.privacy.models

# One import line per domain with models (keep sorted).
import backend.roster.models
import backend.staff.models
from backend.db import Base

import backend.handoff.models  # noqa: F401  isort: skip

metadata = Base.metadata
