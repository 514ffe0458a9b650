"""FastAPI dependencies for staff endpoints: the current staff member, role checks, IP and clock.

    @router.post("/claims/{claim_id}/transition")
    def move(staff: Annotated[StaffPrincipal, Depends(require_roles("claims_officer", "admin"))]): ...

Time comes from ``runtime.clock`` (the real UTC clock; tests set their own).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.deps import DbSession, RuntimeDep
from backend.errors import Forbidden
from backend.staff.auth import authenticate, timeouts_from

MAX_ROW_ID = 2**31 - 1  # PostgreSQL INTEGER: a larger id cannot exist and would overflow the driver

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="记录编号")]
"""A record id in the URL: out of range → 422 (never an overflow deep in the database driver)."""
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=100_000)]

_bearer = HTTPBearer(auto_error=False, description="员工登录后得到的令牌")


@dataclass(frozen=True)
class StaffPrincipal:
    """Who is calling: the staff account, its role, its session, and the client IP (for audit)."""

    id: int
    username: str
    role: str
    session_id: int
    ip: str | None = None


def client_ip(request: Request) -> str | None:
    """The client's IP as seen by the app (uvicorn applies trusted proxy headers)."""
    return request.client.host if request.client else None


ClientIp = Annotated[str | None, Depends(client_ip)]


def get_now(runtime: RuntimeDep) -> dt.datetime:
    """The current UTC time (``runtime.clock``: tests set their own)."""
    return runtime.clock()


Now = Annotated[dt.datetime, Depends(get_now)]


def get_current_staff(
    db: DbSession,
    runtime: RuntimeDep,
    now: Now,
    ip: ClientIp,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StaffPrincipal:
    """The logged-in staff member, or 401 (not_logged_in, session_idle_timeout, session_expired)."""
    token = credentials.credentials if credentials else None
    staff, sess = authenticate(db, token=token, limits=timeouts_from(runtime.settings.auth), now=now)
    return StaffPrincipal(id=staff.id, username=staff.username, role=staff.role, session_id=sess.id, ip=ip)


CurrentStaff = Annotated[StaffPrincipal, Depends(get_current_staff)]


def require_roles(*roles: str) -> Callable[[StaffPrincipal], StaffPrincipal]:
    """A dependency that lets only the given roles through (403 ``forbidden`` otherwise)."""
    allowed = frozenset(str(r) for r in roles)

    def _check(staff: CurrentStaff) -> StaffPrincipal:
        if staff.role not in allowed:
            raise Forbidden("forbidden", "没有权限做这件事", detail={"allowed_roles": sorted(allowed)})
        return staff

    return _check
