"""The composition root: ``create_app()`` builds the FastAPI app and mounts every router."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from backend.errors import install_error_handlers
from backend.runtime import Runtime, build_runtime
from config.settings import Settings, get_settings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    runtime_factory: Callable[[Settings], Runtime] | None = None,
) -> FastAPI:
    """The app; its lifespan opens the runtime (database, Redis, keys, products) and closes it."""
    settings = settings or get_settings()
    factory = runtime_factory or build_runtime

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = factory(settings)
        app.state.runtime = runtime
        from backend.startup import on_startup

        on_startup(runtime)
        worker = None
        if settings.run_worker:
            from backend.worker import WorkerThread

            worker = WorkerThread(runtime)
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            runtime.close()

    app = FastAPI(
        title="潮南意外险客服后端",
        lifespan=lifespan,
        docs_url="/docs" if settings.mode == "local" else None,
    )
    install_error_handlers(app)
    from backend.routers import include_routers

    include_routers(app)
    return app
