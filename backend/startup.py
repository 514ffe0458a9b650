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
    for name in STARTUP_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.startup(runtime)
