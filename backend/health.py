"""``/healthz`` (the process is alive) and ``/readyz`` (database and Redis reachable)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from backend.deps import RuntimeDep

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str


class ReadinessOut(BaseModel):
    """``checks``: ``ok`` or why a dependency is unreachable; ``warnings`` keep the service ready."""

    checks: dict[str, str]
    warnings: list[str]
    status: str  # ready | unavailable


@router.get("/healthz", response_model=HealthOut)
def healthz() -> HealthOut:
    """Alive: the process answers."""
    return HealthOut(status="ok")


@router.get("/readyz", response_model=ReadinessOut,
            responses={503: {"model": ReadinessOut, "description": "Database or Redis unreachable"}})
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Ready: the database and Redis answer; warnings (e.g. missing holiday data) keep it 200."""
    checks: dict[str, str] = {}
    body: dict[str, Any] = {"checks": checks, "warnings": []}
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        runtime.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    for provider in runtime.readiness_warnings:
        body["warnings"].extend(provider())
    ok = all(v == "ok" for v in checks.values())
    body["status"] = "ready" if ok else "unavailable"
    return JSONResponse(body, status_code=200 if ok else 503)
