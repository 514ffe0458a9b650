"""Annotated FastAPI dependencies handing out what the lifespan built."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import redis
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from backend.db import session_scope
from backend.products.service import ProductCatalog
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher


def get_runtime(request: Request) -> Runtime:
    """The process runtime built by the lifespan."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_db(runtime: RuntimeDep) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent (or rolled back)."""
    with session_scope(runtime.sessions) as session:
        yield session


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def get_redis(runtime: RuntimeDep) -> redis.Redis:
    """The shared blocking Redis client."""
    return runtime.redis


RedisDep = Annotated[redis.Redis, Depends(get_redis)]


def get_cipher(runtime: RuntimeDep) -> FieldCipher:
    """The field cipher (encryption and blind indexes)."""
    return runtime.cipher


CipherDep = Annotated[FieldCipher, Depends(get_cipher)]


def get_catalog(runtime: RuntimeDep) -> ProductCatalog:
    """The product catalog."""
    return runtime.catalog


CatalogDep = Annotated[ProductCatalog, Depends(get_catalog)]
