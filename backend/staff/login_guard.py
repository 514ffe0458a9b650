"""Per-source throttling of the login endpoints (A-01): the account lockout stops guessing one account's
password; this stops one source from trying many accounts (30 usernames in 3.3 s).

Each attempt from a source address takes a slot in a Redis window (``backend.ratelimit``) before
its factors are checked; a successful one (both factors right) gives its slot back, so only failures
add up and a busy office behind one address is not throttled by its own logins. Over
``login_failures_per_source`` in ``login_window_s``: 429 with ``Retry-After``, before any password
is hashed, audited (``login`` / ``throttled``), and one ALERT error line per window. Slots are taken
before the check, so parallel attempts cannot slip past the limit together.

Redis down: the failures are counted from the audit log instead (every failed login is a record
with its source address), so the throttle keeps working, if less strictly under parallel attempts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.audit.service import record_event
from backend.ratelimit import Limit, LimiterUnavailable, count, release

log = logging.getLogger(__name__)

# The audit results of a login that failed (``backend.staff.auth``).
FAILED_RESULTS = ("unknown_user", "disabled", "locked", "failed")


@dataclass(frozen=True)
class Refusal:
    """The source is over its limit: how long until the window ends."""

    retry_after_s: int


def _failures_in_audit_log(session: Session, *, ip: str | None, since: dt.datetime) -> int:
    return int(session.scalar(
        select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "login", AuditRecord.ip == ip, AuditRecord.at >= since,
            AuditRecord.result.in_(FAILED_RESULTS))) or 0)


class LoginGuard:
    """One login attempt from one source: :meth:`enter` before checking the factors, :meth:`leave` after."""

    def __init__(self, session: Session, client: redis.Redis, *, ip: str | None, limit: Limit,
                 now: dt.datetime) -> None:
        self.session, self.client, self.ip, self.limit, self.now = session, client, ip, limit, now
        # The key holds a digest of the address, not the address (D-07).
        self.subject = hashlib.sha256((ip or "unknown").encode()).hexdigest()[:24]
        self._holding = False

    def enter(self) -> Refusal | None:
        """Take a slot; a Refusal (already audited) when the source is over its limit."""
        try:
            counted = count(self.client, self.limit, self.subject, now=self.now.timestamp())
        except LimiterUnavailable:
            since = self.now - dt.timedelta(seconds=self.limit.window_s)
            failures = _failures_in_audit_log(self.session, ip=self.ip, since=since)
            if failures < self.limit.count:
                return None
            return self._refuse(self.limit.window_s, alert=failures == self.limit.count)
        self._holding = True
        if not counted.over:
            return None
        return self._refuse(counted.retry_after, alert=counted.first_over)

    def leave(self, *, factors_ok: bool) -> None:
        """After the check: a success gives its slot back (failures keep theirs until the window ends)."""
        if self._holding and factors_ok:
            release(self.client, self.limit, self.subject, now=self.now.timestamp())
        self._holding = False

    def _refuse(self, retry_after_s: int, *, alert: bool) -> Refusal:
        if alert:
            log.error("ALERT login attempts: source %s reached %s failed logins in %s s; throttled",
                      self.ip, self.limit.count, self.limit.window_s)
        record_event(self.session, actor="anonymous", action="login", ip=self.ip, result="throttled",
                     at=self.now)
        self._holding = False
        return Refusal(retry_after_s=retry_after_s)
