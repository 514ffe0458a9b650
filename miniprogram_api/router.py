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
    in between: a request walks one level of routers fewer). The busiest areas first: a request's path
    is tried against the routes in the order they were included; no two areas share a path, except
    ``/me`` (auth before mydata)."""
    for module in (
        claims,
        uploads,
        auth,
        consent,
        identity,
        products,
        complaints,
        notifications,
        mydata,
        chat,
        chat_ws,
    ):
        parent.include_router(module.router, prefix=PREFIX, responses=ERROR_RESPONSES)
