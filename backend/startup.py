"""Start-up hooks run by the lifespan after the runtime is built (one call per domain)."""

from __future__ import annotations

import gc
import importlib

from backend.runtime import Runtime

# Modules with ``startup(runtime) -> None`` (e.g. load the holiday calendar, register readiness
# warnings, recompute provisional deadlines).
STARTUP_MODULES = ["backend.calendar.startup", "backend.claims.startup"]


def on_startup(runtime: Runtime) -> None:
    """Run every domain's start-up hook."""
    for module in map(importlib.import_module, STARTUP_MODULES):
        module.startup(runtime)


_frozen = False


def freeze_startup_objects() -> bool:
    """Take what start-up built (the NLU model and jieba dictionary, SQLAlchemy metadata, products,
    settings...) out of the cyclic garbage collector's reach, once per process.

    They live as long as the process, yet every full collection walks them all: about 10 ms for the
    NLU alone, more with the rest, each time a latency spike for the requests under way. Objects
    created later are collected as usual. Returns False when it was already done.
    """
    global _frozen
    if _frozen:
        return False
    gc.collect()
    gc.freeze()
    _frozen = True
    return True
