"""Dependencies of the mini-program API: the logged-in customer, rate limits, the clock, the
Idempotency-Key header, and the shared parameter types."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.accounts.models import CustomerAccount
from backend.accounts.sessions import check_session, not_logged_in
from backend.deps import DbSession, RuntimeDep
from backend.ratelimit import Limit, hit

MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="记录编号", examples=[12])]
PageLimit = Annotated[int, Query(ge=1, le=50, description="每页条数")]
Before = Annotated[
    int | None, Query(ge=1, le=MAX_ROW_ID, description="上一页最后一条的 id（翻下一页时带上）")
]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="每次新建用一个新的随机值（如 UUID）；网络不好重试时带同一个值，只会建一条。",
        examples=["5f0c2d1e-8a7b-4c3d-9e10-1a2b3c4d5e6f"],
    ),
]

_bearer = HTTPBearer(auto_error=False, description="登录接口返回的 token")


async def get_now(runtime: RuntimeDep) -> dt.datetime:
    """The current UTC time (the runtime's clock: tests control it)."""
    return runtime.clock()


Now = Annotated[dt.datetime, Depends(get_now)]


async def client_ip(request: Request) -> str:
    """The client's IP as the app sees it (uvicorn applies the trusted proxy's header)."""
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(client_ip)]


def limit(runtime: RuntimeDep, name: str, subject: str, *, fail_open: bool = False) -> None:
    """Count one request against the mini-program setting ``rate_<name>`` for ``subject``."""
    count, window = getattr(runtime.settings.miniprogram, f"rate_{name}")
    hit(
        runtime.redis,
        Limit(name=f"mp:{name}", count=count, window_s=window, fail_open=fail_open),
        subject,
        now=runtime.clock().timestamp(),
    )


@dataclass(frozen=True)
class Customer:
    """The logged-in customer: the account and the session token."""

    account: CustomerAccount
    token: str

    @property
    def id(self) -> int:
        return self.account.id


def current_customer(
    request: Request,
    runtime: RuntimeDep,
    db: DbSession,
    ip: ClientIp,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Customer:
    """The customer of the bearer token (401 otherwise); counts the request against the rate limits."""
    token = credentials.credentials if credentials else None
    sess = check_session(runtime.redis, token=token, idle_s=runtime.settings.miniprogram.session_idle_s)
    account = db.get(CustomerAccount, sess.account_id)
    if account is None or account.openid != sess.openid:
        raise not_logged_in()
    if request.method in ("GET", "HEAD"):
        limit(runtime, "read_per_user", str(account.id), fail_open=True)
    else:
        limit(runtime, "write_per_ip", ip)
        limit(runtime, "write_per_user", str(account.id))
    assert token is not None
    return Customer(account=account, token=token)


CurrentCustomer = Annotated[Customer, Depends(current_customer)]
