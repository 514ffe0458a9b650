"""The mini-program API under ``/mp/v1``: one router per area, the one error shape declared on all."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from miniprogram_api import (
    auth,
    chat,
    chat_ws,
    claims,
    complaints,
    consent,
    identity,
    mydata,
    notifications,
    products,
    uploads,
)
from miniprogram_api.schemas import ERROR_RESPONSES

PREFIX = "/mp/v1"


def include_routers(parent: FastAPI | APIRouter) -> None:
    """Include every mini-program route in ``parent``, each area straight under ``/mp/v1`` (no router
    in between: a request walks one level of routers fewer). The areas keep the order of the published
    /openapi.json (the schemathesis state machine of tests/miniprogram_api/test_fuzz.py walks it in
    that order)."""
    for module in (
        auth,
        consent,
        identity,
        products,
        claims,
        uploads,
        complaints,
        notifications,
        mydata,
        chat,
        chat_ws,
    ):
        parent.include_router(module.router, prefix=PREFIX, responses=ERROR_RESPONSES)
