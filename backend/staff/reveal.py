"""Reveal one private field in clear, with a reason, written to the audit log (catalogue A-03/A-04).

The fields staff may reveal are declared on the encrypted columns (``info=encrypted(purpose,
reveal="field")``, ``backend.security.columns``). Every attempt is audited (A-04), refused ones too:
``result`` is ``ok`` or ``refused: <code>``.
:func:`reveal_outcome` never raises for a refusal and never commits: it returns the refusal, the way
``backend.staff.auth.login`` does, and the API answers it as an error response without raising, so
the request's transaction (with the refusal record) still commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.db import Base, utcnow
from backend.errors import NotFound, ServiceError
from backend.security.columns import revealable_fields
from backend.security.crypto import CryptoError, FieldCipher

MIN_REASON_LENGTH = 4


@dataclass(frozen=True)
class RevealOutcome:
    """``ok`` with the clear ``value`` (None when the field is empty), or the refusal ``error``."""

    ok: bool
    value: str | None = None
    error: ServiceError | None = None


def _check(session: Session, cipher: FieldCipher, object_type: str, object_id: int, field: str,
           why: str) -> str | None:
    """The clear value, or a ServiceError saying why it may not / cannot be shown."""
    if len(why) < MIN_REASON_LENGTH:
        raise ServiceError("reason_required", f"请写明查看原因（至少 {MIN_REASON_LENGTH} 个字）",
                           detail={"field": "reason"}, status_code=422)
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
    session: Session, *, cipher: FieldCipher, object_type: str, object_id: int, field: str, reason: str,
    actor: str, ip: str | None = None, now: dt.datetime | None = None,
) -> RevealOutcome:
    """Reveal one field; every attempt, allowed or refused, gets an audit record (flushed, not committed)."""
    now = now or utcnow()
    why = (reason or "").strip()
    try:
        value = _check(session, cipher, object_type, object_id, field, why)
    except ServiceError as exc:
        record_event(session, actor=actor, action="reveal", object_type=object_type, object_id=object_id,
                     field=field, purpose=why or None, ip=ip, result=f"refused: {exc.code}", at=now)
        return RevealOutcome(ok=False, error=exc)
    record_event(session, actor=actor, action="reveal", object_type=object_type, object_id=object_id,
                 field=field, purpose=why, ip=ip, at=now)
    return RevealOutcome(ok=True, value=value)
