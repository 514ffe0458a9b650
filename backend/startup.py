"""Start-up hooks run by the lifespan after the runtime is built (one call per domain)."""

from __future__ import annotations

import importlib

from backend.runtime import Runtime

# Modules with ``startup(runtime) -> None`` (e.g. load the holiday calendar, register readiness
# warnings, recompute provisional deadlines).
STARTUP_MODULES = ["backend.calendar.startup", "backend.claims.startup"]


def on_startup(runtime: Runtime) -> None:
    """Run every domain's start-up hook."""
    runtime.extras.setdefault("readiness_warnings", [])
    for module in map(importlib.import_module, STARTUP_MODULES):
        module.startup(runtime)
