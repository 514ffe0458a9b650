"""The supervisor dashboard's figures (issue 10): the queue now, today's first-response times against
the 3-minute standard, breaches, next-response times, satisfaction, reasons and intents, 15-minute
buckets, and the chats at risk.

Definitions (docs: console-anchors §1.3):
- first response time (FRT) = ``first_response_at - queued_at``; the bot phase does not count. A take-over
  of a live bot chat (reason ``takeover``: nobody was waiting) has no FRT and is left out of the share.
- "within 3 minutes" share = answered within 180 s ÷ conversations whose outcome is known: answered,
  or still unanswered (or left) after 180 s. A chat queued 30 s ago is not yet a success or a miss.
- next-response time = a customer message while with an agent → the agent's next reply.
- "today" starts at local midnight (``settings.timezone``, Asia/Shanghai).
- at risk: waiting unanswered longer than 120 s (warn from 120 s, breach from 180 s or escalated).
The computation is plain functions over plain records (``Facts``); ``dashboard`` loads them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.conversations.turn_models import ConversationTurn
from backend.handoff.models import HandoffMessage, HandoffRequest

WARN_S = 120
BREACH_S = 180
BUCKET_S = 15 * 60
TOP = 8


def sla_of(wait_s: float, *, escalated: bool = False, answered: bool = False) -> str:
    """``ok`` / ``warn`` (from 120 s) / ``breach`` (from 180 s, or escalated) of an unanswered wait."""
    if escalated:
        return "breach"
    if answered:
        return "ok"
    if wait_s >= BREACH_S:
        return "breach"
    return "warn" if wait_s >= WARN_S else "ok"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-quantile (0–1) by linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def day_start(now: dt.datetime, timezone: str = "Asia/Shanghai") -> dt.datetime:
    """Local midnight of ``now``'s day, in UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


@dataclass(frozen=True)
class Facts:
    """What the dashboard needs of one handoff (no personal data)."""

    id: int
    reason: str
    status: str
    priority: int
    skill_group: str
    agent_id: int | None
    queued_at: dt.datetime | None
    first_response_at: dt.datetime | None = None
    waiting_since: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    escalated: bool = False
    breached_at: dt.datetime | None = None
    rating: int | None = None
    rated_at: dt.datetime | None = None


def frt_s(f: Facts) -> float | None:
    if f.queued_at is None or f.first_response_at is None or f.reason == "takeover":
        return None
    return (f.first_response_at - f.queued_at).total_seconds()


def unanswered_wait_s(f: Facts, now: dt.datetime) -> float | None:
    """How long the customer has been waiting for a person now (None when nobody owes an answer)."""
    if f.status == "queued" or (f.status == "agent" and f.first_response_at is None):
        return (now - f.queued_at).total_seconds() if f.queued_at else None
    if f.status == "agent" and f.waiting_since is not None:
        return (now - f.waiting_since).total_seconds()
    return None


def _outcome_known(f: Facts, now: dt.datetime) -> bool:
    """Answered, or already past the 3 minutes without an answer (left or still waiting)."""
    if f.first_response_at is not None:
        return True
    if f.queued_at is None:
        return False
    end = f.closed_at or now
    return (end - f.queued_at).total_seconds() >= BREACH_S


def first_response_figures(rows: Iterable[Facts], now: dt.datetime) -> dict[str, Any]:
    """FRT p50/p90, and the share within 3 minutes among conversations whose outcome is known."""
    rows = list(rows)
    times = [t for t in (frt_s(f) for f in rows) if t is not None]
    known = [f for f in rows if f.reason != "takeover" and _outcome_known(f, now)]
    within = sum(1 for f in known if (t := frt_s(f)) is not None and t <= BREACH_S)
    return {
        "first_response_p50_s": percentile(times, 0.5),
        "first_response_p90_s": percentile(times, 0.9),
        "within_3min_share": (within / len(known)) if known else None,
        "within_3min": within,
        "known": len(known),
    }


def buckets(rows: Iterable[Facts], *, start: dt.datetime, now: dt.datetime) -> list[dict[str, Any]]:
    """15-minute buckets from ``start`` to ``now`` by queueing time: handoffs, FRT p50/p90 and the
    3-minute share of each (same definitions as the day's figures)."""
    count = max(1, math.ceil((now - start).total_seconds() / BUCKET_S))
    groups: list[list[Facts]] = [[] for _ in range(count)]
    for f in rows:
        if f.queued_at is None or not (start <= f.queued_at <= now):
            continue
        groups[min(count - 1, int((f.queued_at - start).total_seconds() // BUCKET_S))].append(f)
    out = []
    for i, group in enumerate(groups):
        times = [t for t in (frt_s(f) for f in group) if t is not None]
        frt = first_response_figures(group, now)
        out.append({
            "start": start + dt.timedelta(seconds=i * BUCKET_S),
            "handoffs": len(group),
            "answered": len(times),
            "within_3min": frt["within_3min"],
            "within_3min_share": frt["within_3min_share"],
            "breaches": sum(1 for f in group if f.escalated or f.breached_at is not None),
            "frt_p50_s": frt["first_response_p50_s"],
            "frt_p90_s": frt["first_response_p90_s"],
        })
    return out


def at_risk(rows: Iterable[Facts], now: dt.datetime) -> list[dict[str, Any]]:
    """Open chats whose customer has waited more than 120 s for a person (or escalated), longest first."""
    out = []
    for f in rows:
        wait = unanswered_wait_s(f, now)
        if wait is None or (wait <= WARN_S and not f.escalated):
            continue
        out.append({"id": f.id, "wait_s": int(wait), "sla": sla_of(wait, escalated=f.escalated),
                    "skill_group": f.skill_group, "priority": f.priority, "agent_id": f.agent_id,
                    "status": f.status})
    return sorted(out, key=lambda r: -r["wait_s"])


def figures(*, today: Sequence[Facts], open_rows: Sequence[Facts], now: dt.datetime, start: dt.datetime,
            next_response_s: Sequence[float], intents: Counter[str]) -> dict[str, Any]:
    """Every figure of the dashboard but the agents (``dashboard`` adds them)."""
    queued = [f for f in open_rows if f.status == "queued" and f.queued_at is not None]
    oldest = min((f.queued_at for f in queued if f.queued_at), default=None)
    frt = first_response_figures(today, now)
    ratings = [f.rating for f in today if f.rating is not None]
    reasons = Counter(f.reason for f in today)
    return {
        "now": now,
        "queue_length": len(queued),
        "oldest_wait_s": int((now - oldest).total_seconds()) if oldest else 0,
        "handoffs_today": len(today),
        "first_response_p50_s": frt["first_response_p50_s"],
        "first_response_p90_s": frt["first_response_p90_s"],
        "within_3min_share": frt["within_3min_share"],
        "breaches_today": sum(1 for f in today if f.escalated or f.breached_at is not None),
        "next_response_p50_s": percentile(next_response_s, 0.5),
        "satisfaction_avg": (sum(ratings) / len(ratings)) if ratings else None,
        "satisfaction_count": len(ratings),
        "reasons": [{"key": k, "count": n} for k, n in reasons.most_common()],
        "top_intents": [{"key": k, "count": n} for k, n in intents.most_common(TOP)],
        "buckets": buckets(today, start=start, now=now),
        "at_risk": at_risk(open_rows, now),
    }


def next_response_times(messages: Iterable[tuple[int, str, dt.datetime]]) -> list[float]:
    """From (handoff id, direction, time) in time order: for each customer message that follows an
    agent's first reply, the seconds until the agent's next reply (the first customer message of a
    run starts the clock; notes and system messages do not stop it)."""
    waiting: dict[int, dt.datetime | None] = {}
    answered_once: set[int] = set()
    out: list[float] = []
    for hid, direction, at in messages:
        if direction == "customer":
            if hid in answered_once and waiting.get(hid) is None:
                waiting[hid] = at
        elif direction == "agent":
            since = waiting.get(hid)
            if since is not None:
                out.append((at - since).total_seconds())
            waiting[hid] = None
            answered_once.add(hid)
    return out


def facts_of(row: Any) -> Facts:
    """The dashboard's view of one ``HandoffRequest``."""
    return Facts(id=row.id, reason=row.reason, status=row.status, priority=row.priority,
                 skill_group=row.skill_group, agent_id=row.agent_id, queued_at=row.queued_at,
                 first_response_at=row.first_response_at, waiting_since=row.waiting_since,
                 closed_at=row.closed_at, escalated=bool(row.escalated), breached_at=row.breached_at,
                 rating=row.rating, rated_at=row.rated_at)


def dashboard(db: Session, *, now: dt.datetime, timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    """Load today's handoffs, the open ones, today's messages and intents, and compute the figures."""
    start = day_start(now, timezone)
    today_rows = list(db.scalars(select(HandoffRequest).where(HandoffRequest.queued_at >= start)))
    open_rows = list(db.scalars(select(HandoffRequest).where(HandoffRequest.status.in_(("queued", "agent")))))
    msgs = [(hid, direction, at) for hid, direction, at in db.execute(
        select(HandoffMessage.handoff_id, HandoffMessage.direction, HandoffMessage.created_at)
        .where(HandoffMessage.created_at >= start).order_by(HandoffMessage.created_at, HandoffMessage.id))]
    users = {r.user_id for r in today_rows}
    intents: Counter[str] = Counter()
    if users:
        intents.update(i for (i,) in db.execute(
            select(ConversationTurn.intent).where(ConversationTurn.at >= start,
                                                  ConversationTurn.user_id.in_(users),
                                                  ConversationTurn.intent.is_not(None))) if i)
    return figures(today=[facts_of(r) for r in today_rows], open_rows=[facts_of(r) for r in open_rows],
                   now=now, start=start, next_response_s=next_response_times(msgs), intents=intents)
