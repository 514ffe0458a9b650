"""FastAPI dependencies of the staff API: the logged-in staff member and role checks.

Every domain's staff routes use them::

    @router.post("/claims/{claim_id}/transition")
    def move(staff: Annotated[StaffPrincipal, Depends(require_roles("claims_officer", "admin"))]): ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.deps import ClientIp, DbSession, Now, RuntimeDep
from backend.errors import Forbidden
from backend.staff.auth import authenticate, timeouts_from
from backend.staff.models import Role

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="StaffBearer",
    description="员工登录后得到的令牌（/staff/api/auth/login）"
)


@dataclass(frozen=True)
class StaffPrincipal:
    """Who is calling: the staff account, its role, its session, and the client IP (for audit)."""

    id: int
    username: str
    role: str
    session_id: int
    ip: str | None = None


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


# Staff who work on customers' cases (claims, complaints, home visits, the roster): everyone but the
# auditor. They read every case and act on complaints and home visits; claims move only by officers.
CASE_WORKERS = (Role.AGENT, Role.CLAIMS_OFFICER, Role.SUPERVISOR, Role.ADMIN)
CaseWorker = Annotated[StaffPrincipal, Depends(require_roles(*CASE_WORKERS))]
Auditor = Annotated[StaffPrincipal, Depends(require_roles(Role.AUDITOR))]
