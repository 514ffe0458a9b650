"""Every router of the service, mounted by the composition root (one line per domain)."""

from __future__ import annotations

from fastapi import FastAPI


def include_routers(app: FastAPI) -> None:
    """Mount the routers of every domain (``bot.webhook.install_webhook`` mounts the webhook, before).

    The mini-program API first: it takes most of the requests, and a request's path is tried against
    the routes in the order they were included (no other route can match a ``/mp/v1/`` path).
    """
    from miniprogram_api.router import include_routers as include_miniprogram_routers

    include_miniprogram_routers(app)
    from backend import health
    from backend.audit import api as audit_api
    from backend.claims import api as claims_api
    from backend.complaints import api as complaints_api
    from backend.handoff import actions_api as handoff_actions_api
    from backend.handoff import api as handoff_api
    from backend.handoff import pages as handoff_pages
    from backend.jobs import api as jobs_api
    from backend.notices import api as notices_api
    from backend.roster import api as roster_api
    from backend.staff import api as staff_api

    app.include_router(health.router)
    app.include_router(staff_api.router)
    app.include_router(claims_api.router)
    app.include_router(complaints_api.router)
    app.include_router(roster_api.router)
    app.include_router(audit_api.router)
    app.include_router(jobs_api.router)
    app.include_router(notices_api.staff_router)
    app.include_router(notices_api.router)
    app.include_router(handoff_api.router)
    app.include_router(handoff_actions_api.router)
    app.include_router(handoff_pages.router)
