"""Reveal one private field in clear, with a reason, written to the audit log (catalogue A-03/A-04).

The fields staff may reveal are declared on the encrypted columns (``info=encrypted(purpose,
reveal="field")``, ``backend.security.columns``). Every attempt is audited (A-04), refused ones too,
including a role that may not reveal at all (checked here, not by a route dependency, so that the
refusal is recorded): ``result`` is ``ok`` or ``refused: <code>``. The reason is stored with ID, phone
and card numbers masked (people type the number they look for into it).

Bulk reveal is throttled per staff member (A-03: a few values at a time, never a roster): at most
``limit.count`` attempts per window, counted in Redis across processes (``backend.ratelimit``).
Over the limit: 429, audited, and an error log line (an alert) once per window. Redis down: reveals
are refused (503, audited): failing closed, since the limit is what keeps one account from dumping
every ID number.
:func:`reveal_outcome` never raises for a refusal and never commits: it returns the refusal, the way
``backend.staff.auth.login`` does, and the API answers it as an error response without raising, so
the request's transaction (with the refusal record) still commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import redis
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.db import Base, utcnow
from backend.errors import Forbidden, NotFound, ServiceError
from backend.ratelimit import Limit, LimiterUnavailable, count
from backend.security.columns import revealable_fields
from backend.security.crypto import CryptoError, FieldCipher
from backend.security.masking import scrub_text
from backend.staff.models import Role

log = logging.getLogger(__name__)

MIN_REASON_LENGTH = 4
REVEAL_ROLES = frozenset({Role.CLAIMS_OFFICER, Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True)
class RevealOutcome:
    """``ok`` with the clear ``value`` (None when the field is empty), or the refusal ``error``."""

    ok: bool
    value: str | None = None
    error: ServiceError | None = None

    @property
    def headers(self) -> dict[str, str] | None:
        """``Retry-After`` for a throttled refusal (both the staff API and the console send it)."""
        detail = self.error.detail if self.error is not None else None
        retry = detail.get("retry_after_s") if isinstance(detail, dict) else None
        return {"Retry-After": str(retry)} if retry else None


def reveal_limit(*, per_window: int, window_s: int) -> Limit:
    """The per-staff-member reveal limit (fails closed: no counting, no reveal)."""
    return Limit(name="staff:reveal", count=per_window, window_s=window_s, fail_open=False)


def _throttle(client: redis.Redis, *, limit: Limit, staff_id: int, now: dt.datetime) -> None:
    """Count this attempt against the staff member's window; refuse over the limit or without Redis."""
    try:
        counted = count(client, limit, str(staff_id), now=now.timestamp())
    except LimiterUnavailable:
        log.error("reveal refused: the reveal limit cannot be checked (redis unavailable)")
        raise ServiceError("reveal_unavailable", "暂时不能查看，请稍后再试", status_code=503) from None
    if not counted.over:
        return
    if counted.first_over:
        log.error("ALERT bulk reveal: staff id %s reached %s reveals in %s s; refused until the window ends",
                  staff_id, limit.count, limit.window_s)
    raise ServiceError("reveal_throttled", "查看太频繁，请稍后再试",
                       detail={"retry_after_s": counted.retry_after, "limit": limit.count,
                               "window_s": limit.window_s}, status_code=429)


def _check(session: Session, cipher: FieldCipher, object_type: str, object_id: int, field: str) -> str | None:
    """The clear value, or a ServiceError saying why it may not / cannot be shown."""
    revealable = revealable_fields(Base.registry)
    spec = revealable.get((object_type, field))
    if spec is None:
        raise ServiceError("not_revealable", "这一项不能查看", status_code=422,
                           detail={"allowed": sorted(f"{t}.{f}" for t, f in revealable)})
    obj = session.get(spec.model, object_id)
    if obj is None:
        raise NotFound("not_found", "找不到这条记录")
    stored: str | None = getattr(obj, spec.attr)
    if stored is None:
        return None
    try:
        return cipher.decrypt(stored, purpose=spec.purpose)
    except CryptoError:
        raise ServiceError("cannot_decrypt", "这项数据无法解密，请联系管理员", status_code=500) from None


def reveal_outcome(
    session: Session, *, cipher: FieldCipher, redis_client: redis.Redis, limit: Limit, object_type: str,
    object_id: int, field: str, reason: str, actor: str, actor_id: int, role: str, ip: str | None = None,
    now: dt.datetime | None = None,
) -> RevealOutcome:
    """Reveal one field; every attempt, allowed or refused, gets an audit record (flushed, not committed)."""
    now = now or utcnow()
    why = (reason or "").strip()
    purpose = scrub_text(why) or None  # stored masked: an ID number typed as the reason stays private
    try:
        if role not in REVEAL_ROLES:
            raise Forbidden("forbidden", "没有权限做这件事",
                            detail={"allowed_roles": sorted(str(r) for r in REVEAL_ROLES)})
        if len(why) < MIN_REASON_LENGTH:
            raise ServiceError("reason_required", f"请写明查看原因（至少 {MIN_REASON_LENGTH} 个字）",
                               detail={"field": "reason"}, status_code=422)
        _throttle(redis_client, limit=limit, staff_id=actor_id, now=now)
        value = _check(session, cipher, object_type, object_id, field)
    except ServiceError as exc:
        record_event(session, actor=actor, action="reveal", object_type=object_type, object_id=object_id,
                     field=field, purpose=purpose, ip=ip, result=f"refused: {exc.code}", at=now)
        return RevealOutcome(ok=False, error=exc)
    record_event(session, actor=actor, action="reveal", object_type=object_type, object_id=object_id,
                 field=field, purpose=purpose, ip=ip, at=now)
    return RevealOutcome(ok=True, value=value)
