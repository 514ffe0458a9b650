"""The composition root: ``create_app()`` builds the FastAPI app and mounts every router."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from backend.errors import StartupError, install_error_handlers
from backend.logs import quiet_noisy_loggers
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
    quiet_noisy_loggers()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = factory(settings)
        app.state.runtime = runtime
        from backend.startup import freeze_startup_objects, on_startup

        await asyncio.to_thread(on_startup, runtime)  # no SQLite write lock taken in the loop
        _start_adapters(settings, runtime)
        freeze_startup_objects()
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
            _stop_adapters(runtime)
            runtime.close()

    app = FastAPI(title="潮南意外险客服后端", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    from backend.edge import install_edge
    from backend.routers import include_routers

    install_edge(app, settings)  # inside the webhook's front door, which is added last (outermost)
    from miniprogram_api.limits import MiniProgramLimits
    from miniprogram_api.router import PREFIX

    mp = settings.miniprogram
    app.add_middleware(MiniProgramLimits, prefix=PREFIX, upload_bytes=mp.max_upload_bytes,
                       json_bytes=mp.max_json_bytes)
    if settings.wechat.configured:  # first: it takes most of the traffic
        from bot.webhook import install_webhook

        install_webhook(app, max_body_bytes=settings.wechat.max_body_bytes)
    include_routers(app)
    if settings.mode == "local":  # after the routers: a request tries the routes in this order
        _include_local_pages(app)
    return app


def _include_local_pages(app: FastAPI) -> None:
    """/docs and /redoc, their assets served here (no CDN), and the customer chat page: local only."""
    from backend.api_docs import install_api_docs
    from backend.webchat.api import router as webchat_router

    install_api_docs(app)
    app.include_router(webchat_router)


def _start_adapters(settings: Settings, runtime: Runtime) -> None:
    """The dialogue engine (with the NLU model) and its chat channel's runner; when configured, the
    WeChat webhook."""
    from functools import partial

    from bot.chat_turn import run_chat_turn
    from bot.dialogue.engine import build_engine

    runtime.turn_handler = build_engine(runtime)
    runtime.chat_turn = partial(run_chat_turn, runtime)
    if settings.wechat.configured:
        from bot.startup import startup as wechat_startup

        wechat_startup(runtime, settings.wechat)
    elif settings.mode == "production":
        raise StartupError("公众号未配置 / CS_WECHAT__TOKEN is not set")
    else:
        runtime.readiness_warnings.append(
            lambda: ["公众号未配置（CS_WECHAT__TOKEN 为空）：/wechat 未开放"])


def _stop_adapters(runtime: Runtime) -> None:
    if runtime.wechat is not None:
        from bot.startup import shutdown as wechat_shutdown

        wechat_shutdown(runtime)
