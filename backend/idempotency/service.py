"""Idempotency keys (a double tap on a weak network creates one thing; catalogue F-P2).

    existing = begin(session, owner=..., key=..., operation="claims.report", fingerprint=...)
    if existing is not None: return render(existing)         # the first request's result
    thing = create(...); finish(session, owner=..., key=..., resource_id=thing.id)

:func:`begin` inserts the key first, in the caller's transaction: a concurrent request with the same
key waits on the unique index until the first commits, then sees its row and replays it; if the
first rolled back, nothing of it exists and the second creates. The same key with a different
request is refused (409), as is a key whose first request is still under way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.errors import Conflict
from backend.idempotency.models import IdempotencyKey

KEEP_DAYS = 7


def fingerprint(operation: str, payload: Any) -> str:
    """A stable hash of what a request asks (its operation, target and body)."""
    raw = json.dumps([operation, payload], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _reused() -> Conflict:
    return Conflict(
        "idempotency_key_reused",
        "这个请求编号已经用于另一次提交，请刷新后重新提交",
        detail={"field": "Idempotency-Key"},
    )


def _replay(row: IdempotencyKey, operation: str, fp: str) -> int:
    if row.operation != operation or row.fingerprint != fp:
        raise _reused()
    if row.resource_id is None:
        raise Conflict("request_in_progress", "上一次提交还在处理中，请稍后刷新查看")
    return row.resource_id


def begin(
    session: Session, *, owner: str, key: str, operation: str, fp: str, now: dt.datetime | None = None
) -> int | None:
    """The id made by an earlier request with this key, or None after reserving the key for this one."""
    found = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    )
    if found is not None:
        return _replay(found, operation, fp)
    try:
        with session.begin_nested():
            session.add(
                IdempotencyKey(
                    owner=owner, key=key, operation=operation, fingerprint=fp, created_at=now or utcnow()
                )
            )
            session.flush()
    except IntegrityError:  # a concurrent request with the same key committed first
        found = session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
        )
        if found is None:
            raise
        return _replay(found, operation, fp)
    return None


def finish(session: Session, *, owner: str, key: str, resource_id: int) -> None:
    """Record what the request made (same transaction as the thing itself)."""
    row = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    )
    if row is None:
        raise LookupError("idempotency key not reserved")
    row.resource_id = resource_id
    session.flush()


def purge_old(session: Session, *, now: dt.datetime | None = None, keep_days: int = KEEP_DAYS) -> int:
    """Forget keys older than ``keep_days`` (a retry comes within minutes); how many went."""
    cutoff = (now or utcnow()) - dt.timedelta(days=keep_days)
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
