"""The mini-program API under ``/mp/v1``: one router per area, the one error shape declared on all."""

from __future__ import annotations

from fastapi import APIRouter

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


def build_router() -> APIRouter:
    """Every mini-program route."""
    router = APIRouter(prefix=PREFIX, responses=ERROR_RESPONSES)
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
        router.include_router(module.router)
    return router
