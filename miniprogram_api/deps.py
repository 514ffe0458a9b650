"""Dependencies of the mini-program API: the logged-in customer, rate limits, the clock, the
Idempotency-Key header, and the shared parameter types."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from backend.accounts.models import CustomerAccount
from backend.accounts.service import AccountRef
from backend.accounts.sessions import CustomerSession, check_session, check_session_counted, not_logged_in
from backend.deps import DbSession, RuntimeDep
from backend.ratelimit import Counted, Limit, hit
from backend.runtime import Runtime

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

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="MiniProgramBearer",
    description="小程序登录接口（/mp/v1/auth/login）返回的 token"
)


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


def count_request(runtime: Runtime, *, account_id: int, method: str, ip: str) -> None:
    """Count one request of the account against the rate limits (RateLimited when over one)."""
    if method in ("GET", "HEAD"):
        limit(runtime, "read_per_user", str(account_id), fail_open=True)
    else:
        limit(runtime, "write_per_ip", ip)
        limit(runtime, "write_per_user", str(account_id))


def session_of(runtime: Runtime, *, token: str | None) -> CustomerSession:
    """The session of the bearer ``token``, renewed; 401 when there is none."""
    return check_session(runtime.redis, token=token, idle_s=runtime.settings.miniprogram.session_idle_s)


def session_counted(runtime: Runtime, *, token: str | None) -> tuple[CustomerSession, Counted]:
    """:func:`session_of` and the read counted against ``rate_read_per_user`` for its account, in one
    round trip; the caller refuses (:class:`RateLimited`) when it is over, in the order of its answers."""
    count, window = runtime.settings.miniprogram.rate_read_per_user
    return check_session_counted(
        runtime.redis,
        token=token,
        idle_s=runtime.settings.miniprogram.session_idle_s,
        limit=Limit(name="mp:read_per_user", count=count, window_s=window, fail_open=True),
        now=runtime.clock().timestamp(),
    )


def customer_of(
    runtime: Runtime, db: Session, *, token: str | None, method: str, ip: str
) -> Customer:
    """The customer of the bearer ``token`` (401 otherwise); counts the request against the rate limits."""
    sess = session_of(runtime, token=token)
    account = db.get(CustomerAccount, sess.account_id)
    if account is None or account.openid != sess.openid:
        raise not_logged_in()
    count_request(runtime, account_id=account.id, method=method, ip=ip)
    assert token is not None
    return Customer(account=account, token=token)


_A = CustomerAccount.__table__
_ACCOUNT_REF = select(_A.c.id, _A.c.channel, _A.c.openid, _A.c.unionid).where(_A.c.id == bindparam("id"))


def account_of(db: Session, sess: CustomerSession) -> AccountRef:
    """Who the session's account is (id and identities: a plain read of four columns, not the whole
    account with its phone and session-key tokens loaded as an object); 401 when it is gone."""
    account: AccountRef | None = db.connection().execute(_ACCOUNT_REF, {"id": sess.account_id}).one_or_none()
    if account is None or account.openid != sess.openid:
        raise not_logged_in()
    return account


BearerToken = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def current_customer(
    request: Request,
    runtime: RuntimeDep,
    db: DbSession,
    ip: ClientIp,
    credentials: BearerToken,
) -> Customer:
    """The customer of the bearer token (401 otherwise); counts the request against the rate limits."""
    token = credentials.credentials if credentials else None
    return customer_of(runtime, db, token=token, method=request.method, ip=ip)


CurrentCustomer = Annotated[Customer, Depends(current_customer)]
