"""The handoff domain as the bot uses it, with Redis (agents online, console events) allowed to be down."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import redis
from sqlalchemy.orm import Session

from backend.handoff import customer
from backend.handoff.effects import emit
from backend.handoff.models import HandoffRequest

log = logging.getLogger(__name__)

# state.notes key: the customer asked for a person outside service hours (their first message after
# being told the hours is acknowledged as a message left for the morning).
AFTER_HOURS = "after_hours"


@dataclass(frozen=True, slots=True)
class HandoffDesk:
    """The handoff domain as the bot uses it: Redis (agents online, console events) may be down."""

    redis: redis.Redis | None

    def queued(self, session: Session, row: HandoffRequest, now: dt.datetime, *,
               tell: bool = True) -> str | None:
        """Announce a newly queued chat to the consoles and say the wait once (None: say nothing;
        ``tell=False``: only announce it)."""
        emit(session, self.redis, "handoff.queued",
             {"handoff_id": row.id, "skill_group": row.skill_group, "priority": row.priority})
        if self.redis is None or not tell:
            return None
        try:
            return customer.wait_message(session, self.redis, row, now)
        except (redis.RedisError, OSError) as exc:  # no estimate without the agents online
            log.warning("wait not estimated: %s", type(exc).__name__)
            return None


