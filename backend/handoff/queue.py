"""The handoff queue: priority and skill group of a request, the waiting order, a customer's position,
an honest wait range, service hours, and the SLA timers armed when a customer enters the queue.

Wait estimate (console-anchors §9): a customer ``k``-th in line, with ``f`` free chat slots among the
agents online for the group and ``c`` slots in all, waits for ``n = k - f`` slots to free up (none when
``n <= 0``). With handling times of mean AHT, ``c`` busy slots free up at rate ``c / AHT``, so the wait
is Erlang(n, c/AHT): mean ``n·AHT/c``; the range told is its 10th to 90th percentile (plus the usual
delay of a first answer after assignment), rounded out to whole minutes.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import redis
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar
from backend.handoff.agents import online_agents
from backend.handoff.models import (
    PRIORITY_AGED,
    PRIORITY_COMPLAINT,
    PRIORITY_OTHER,
    PRIORITY_URGENT,
    WORK_ITEM_REASONS,
    HandoffRequest,
)
from backend.jobs import service as jobs

SLA_KIND = "handoff.sla"
WORK_ITEM_KIND = "handoff.work_item"
CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "handoff.yaml"
# Flows and intents served by the claims group (the rest that is not a complaint is general).
CLAIM_TOPICS = frozenset(
    {
        "claim_report",
        "claim_progress",
        "claim_documents",
        "claim_status",
        "claims",
        "claim",
        "payment",
        "claim_payment",
    }
)


@dataclass(frozen=True)
class HandoffConfig:
    start: dt.time
    end: dt.time
    work_item_at: dt.time
    warn_s: int
    breach_s: int
    next_response_s: int
    default_handling_s: float
    answer_delay_s: float
    rating_window_s: int
    timezone: str = "Asia/Shanghai"


def _time(text: str) -> dt.time:
    hour, minute = text.split(":")
    return dt.time(int(hour), int(minute))


@functools.lru_cache(maxsize=4)
def load_config(path: Path = CONFIG_FILE) -> HandoffConfig:
    """``config/handoff.yaml``: service hours, SLA limits, handling-time default."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    hours, sla = data["service_hours"], data["sla"]
    return HandoffConfig(
        start=_time(hours["start"]),
        end=_time(hours["end"]),
        work_item_at=_time(hours["work_item_at"]),
        warn_s=int(sla["warn_s"]),
        breach_s=int(sla["breach_s"]),
        next_response_s=int(sla["next_response_s"]),
        default_handling_s=float(data["default_handling_s"]),
        answer_delay_s=float(data["answer_delay_s"]),
        rating_window_s=int(data["rating_window_s"]),
    )


# --- priority and group ----------------------------------------------------------------------------


def priority_of(reason: str, *, age: int | None = None) -> int:
    """0 someone hurt now, 1 complaint (or anger), 2 aged 80+, 3 others."""
    if reason == "urgent":
        return PRIORITY_URGENT
    if reason in ("complaint", "angry"):
        return PRIORITY_COMPLAINT
    if age is not None and age >= 80:
        return PRIORITY_AGED
    return PRIORITY_OTHER


def skill_group_of(reason: str, *, flow: str | None = None, intent: str | None = None) -> str:
    """complaints for a complaint or anger; claims when the customer was on a claim; else general."""
    if reason in ("complaint", "angry"):
        return "complaints"
    if (flow and (flow in CLAIM_TOPICS or flow.startswith("claim"))) or (
        intent and (intent in CLAIM_TOPICS or intent.startswith("claim"))
    ):
        return "claims"
    return "general"


def arm_sla(session: Session, row: HandoffRequest, *, config: HandoffConfig | None = None) -> None:
    """The 2- and 3-minute timers of a newly queued request (job rows: they survive restarts)."""
    cfg = config or load_config()
    assert row.queued_at is not None
    for stage, after in (("warn", cfg.warn_s), ("breach", cfg.breach_s)):
        jobs.schedule(
            session,
            kind=SLA_KIND,
            key=f"{row.id}:{stage}",
            due_at=row.queued_at + dt.timedelta(seconds=after),
            payload={"handoff_id": row.id, "stage": stage},
            now=row.queued_at,
        )


def disarm_first_response(session: Session, handoff_id: int, now: dt.datetime) -> None:
    for stage in ("warn", "breach"):
        jobs.cancel(session, kind=SLA_KIND, key=f"{handoff_id}:{stage}", now=now)


# --- order, position, estimate ---------------------------------------------------------------------


def waiting(session: Session, *, groups: list[str] | tuple[str, ...] | None = None) -> list[HandoffRequest]:
    """Queued requests, most urgent first, oldest first within a priority (escalated ones are offered
    to every group)."""
    stmt = select(HandoffRequest).where(
        HandoffRequest.status == "queued", HandoffRequest.reason.not_in(WORK_ITEM_REASONS)
    )
    if groups is not None:
        stmt = stmt.where(HandoffRequest.skill_group.in_(list(groups)) | HandoffRequest.escalated.is_(True))
    stmt = stmt.order_by(HandoffRequest.priority, HandoffRequest.queued_at, HandoffRequest.id)
    return list(session.scalars(stmt))


def work_items(session: Session, *, now: dt.datetime) -> list[HandoffRequest]:
    """Open staff work items (call-backs and messages left, low ratings to follow up, data changes),
    oldest first (the console's list with who may see what: ``backend.handoff.workitems``);
    those left outside service hours show from the next working morning (their job row's due time)."""
    rows = session.scalars(
        select(HandoffRequest)
        .where(HandoffRequest.status == "queued", HandoffRequest.reason.in_(WORK_ITEM_REASONS))
        .order_by(HandoffRequest.queued_at, HandoffRequest.id)
    )
    return [r for r in rows if _due(session, r.id) <= now]


def _due(session: Session, handoff_id: int) -> dt.datetime:
    job = jobs.get_job(session, kind=WORK_ITEM_KIND, key=str(handoff_id))
    return job.due_at if job is not None else dt.datetime.min.replace(tzinfo=dt.UTC)


def position(session: Session, row: HandoffRequest) -> int:
    """1-based place of a queued request among those of its group (ahead: higher priority, or the same
    priority and queued earlier)."""
    assert row.queued_at is not None
    ahead = session.scalar(
        select(func.count())
        .select_from(HandoffRequest)
        .where(
            HandoffRequest.status == "queued",
            HandoffRequest.reason.not_in(WORK_ITEM_REASONS),
            HandoffRequest.skill_group == row.skill_group,
            HandoffRequest.id != row.id,
            (HandoffRequest.priority < row.priority)
            | ((HandoffRequest.priority == row.priority) & (HandoffRequest.queued_at < row.queued_at))
            | (
                (HandoffRequest.priority == row.priority)
                & (HandoffRequest.queued_at == row.queued_at)
                & (HandoffRequest.id < row.id)
            ),
        )
    )
    return int(ahead or 0) + 1


def recent_handling_s(
    session: Session, now: dt.datetime, *, config: HandoffConfig | None = None, sample: int = 50
) -> float:
    """Mean handling time (assigned → closed) of the last chats closed in the past day; the configured
    default until there are five."""
    cfg = config or load_config()
    rows = session.execute(
        select(HandoffRequest.assigned_at, HandoffRequest.closed_at)
        .where(
            HandoffRequest.closed_at.is_not(None),
            HandoffRequest.assigned_at.is_not(None),
            HandoffRequest.closed_at >= now - dt.timedelta(days=1),
        )
        .order_by(HandoffRequest.closed_at.desc())
        .limit(sample)
    ).all()
    spans = [(closed - assigned).total_seconds() for assigned, closed in rows if closed and assigned]
    if len(spans) < 5:
        return cfg.default_handling_s
    return max(30.0, sum(spans) / len(spans))


def erlang_quantile(n: int, rate: float, q: float) -> float:
    """The ``q``-quantile of Erlang(n, rate) (sum of n exponential waits), by bisection on the CDF."""
    if n <= 0:
        return 0.0

    def cdf(t: float) -> float:
        x = rate * t
        term, total = 1.0, 1.0
        for i in range(1, n):
            term *= x / i
            total += term
        return 1.0 - math.exp(-x) * total

    lo, hi = 0.0, (n + 10.0 * math.sqrt(n) + 10.0) / rate
    for _ in range(60):
        mid = (lo + hi) / 2
        if cdf(mid) < q:
            lo = mid
        else:
            hi = mid
    return hi


def estimate_wait(
    session: Session,
    redis_client: redis.Redis,
    row: HandoffRequest,
    now: dt.datetime,
    *,
    config: HandoffConfig | None = None,
) -> tuple[int, int]:
    """An honest range (seconds) of the wait before a person answers, from the queue position, the free
    and total slots of the agents online for the group, and recent handling times."""
    cfg = config or load_config()
    k = position(session, row)
    agents = [a for a in online_agents(session, redis_client, group=row.skill_group) if a.state == "online"]
    slots = sum(a.capacity for a in agents)
    free = sum(max(0, a.capacity - a.load) for a in agents)
    if slots <= 0:  # nobody online: the exceptional standard (30 minutes at most)
        return (5 * 60, 30 * 60)
    n = k - free
    delay = cfg.answer_delay_s
    if n <= 0:
        return (0, _ceil_minute(delay + 60))
    aht = recent_handling_s(session, now, config=cfg)
    rate = slots / aht
    low = erlang_quantile(n, rate, 0.1) + delay / 2
    high = erlang_quantile(n, rate, 0.9) + delay * 2
    return (_floor_minute(low), max(_ceil_minute(high), _floor_minute(low) + 60))


def _floor_minute(seconds: float) -> int:
    return int(seconds // 60) * 60


def _ceil_minute(seconds: float) -> int:
    return math.ceil(seconds / 60.0) * 60


# --- service hours ---------------------------------------------------------------------------------


def in_service_hours(
    at: dt.datetime, calendar: WorkingCalendar | None, *, config: HandoffConfig | None = None
) -> bool:
    """True on a Chinese working day between the configured local start and end times."""
    cfg = config or load_config()
    local = at.astimezone(ZoneInfo(cfg.timezone))
    if calendar is not None and not calendar.is_working_day(local.date()):
        return False
    if calendar is None and local.weekday() >= 5:
        return False
    return cfg.start <= local.time() < cfg.end


def next_service_start(
    at: dt.datetime, calendar: WorkingCalendar | None, *, config: HandoffConfig | None = None
) -> dt.datetime:
    """When the next working morning's work items are due (UTC)."""
    cfg = config or load_config()
    tz = ZoneInfo(cfg.timezone)
    local = at.astimezone(tz)
    day = local.date()
    if local.time() >= cfg.work_item_at:
        day += dt.timedelta(days=1)
    for _ in range(40):
        working = calendar.is_working_day(day) if calendar is not None else day.weekday() < 5
        if working:
            break
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, cfg.work_item_at, tzinfo=tz).astimezone(dt.UTC)


def opening(at: dt.datetime, calendar: WorkingCalendar | None, *, config: HandoffConfig | None = None
            ) -> dt.datetime | None:
    """None inside service hours; outside them, when people start answering again (UTC): a request
    made at night waits in the queue from then, and its 3-minute clock starts then."""
    if in_service_hours(at, calendar, config=config):
        return None
    return next_service_start(at, calendar, config=config)
