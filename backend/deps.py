"""Annotated FastAPI dependencies handing out what the lifespan built, and the request values every
API uses (the time, the client's IP, bounded record ids and paging)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated

import redis
from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar
from backend.db import MAX_INTEGER, session_scope
from backend.products.service import ProductCatalog
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher

RowId = Annotated[int, Path(ge=1, le=MAX_INTEGER, description="记录编号")]
"""A record id in the URL: out of range → 422 (never an overflow deep in the database driver)."""
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=100_000)]


async def get_runtime(request: Request) -> Runtime:
    """The process runtime built by the lifespan."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_db(runtime: RuntimeDep) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent (or rolled back)."""
    with session_scope(runtime.sessions) as session:
        yield session


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def get_write_db(runtime: RuntimeDep) -> Iterator[Session]:
    """As :func:`get_db`, for requests that read and then write while other processes or the worker
    write too (the console: every request also touches its staff session). On SQLite the write lock is
    taken when the transaction begins, so it cannot fail half-way with "database is locked"; on
    PostgreSQL nothing changes."""
    with session_scope(runtime.sessions, write=True) as session:
        yield session


WriteDbSession = Annotated[Session, Depends(get_write_db, scope="function")]


async def get_redis(runtime: RuntimeDep) -> redis.Redis:
    """The shared blocking Redis client."""
    return runtime.redis


RedisDep = Annotated[redis.Redis, Depends(get_redis)]


async def get_cipher(runtime: RuntimeDep) -> FieldCipher:
    """The field cipher (encryption and blind indexes)."""
    return runtime.cipher


CipherDep = Annotated[FieldCipher, Depends(get_cipher)]


async def get_catalog(runtime: RuntimeDep) -> ProductCatalog:
    """The product catalog."""
    return runtime.catalog


CatalogDep = Annotated[ProductCatalog, Depends(get_catalog)]


async def get_calendar(runtime: RuntimeDep) -> WorkingCalendar:
    """The working-day calendar loaded at start-up."""
    return runtime.calendar


CalendarDep = Annotated[WorkingCalendar, Depends(get_calendar)]


async def get_now(runtime: RuntimeDep) -> dt.datetime:
    """The current UTC time (``runtime.clock``: tests set their own)."""
    return runtime.clock()


Now = Annotated[dt.datetime, Depends(get_now)]


async def client_ip(request: Request) -> str | None:
    """The client's IP as seen by the app (uvicorn applies trusted proxy headers)."""
    return request.client.host if request.client else None


ClientIp = Annotated[str | None, Depends(client_ip)]
