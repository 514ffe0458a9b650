"""A busy hour of handoffs run through the real queue and assignment code, with a test clock.

Discrete-event simulation: the harness keeps a heap of future events (a customer asks for a person,
an agent's first reply, an agent closing a chat, the worker's assignment tick) and, for each one,
advances the clock and calls the product's own functions in ``backend/handoff/`` on a real SQLite
database and a real Redis: ``request_handoff`` (the bot's handoff), ``wait_message`` (the range the
customer is told, from ``estimate_wait``), ``set_state``/``heartbeat`` (agents online),
``assign_waiting`` (automatic assignment; or ``waiting`` + ``take`` when agents pick from the queue),
``reply`` and ``close``.
Nothing about queueing is modelled here: who gets served when is whatever that code decides.

The load (``Profile``): ``per_hour`` handoffs in the measured hour, a 15-minute peak whose rate is
``peak_factor`` times the rest of the hour's, preceded by a warm-up and followed by a cool-down at
the off-peak rate (their customers load the agents but are not counted). Handling time (from the
assignment to the close: the slot the chat occupies) is lognormal with mean ``aht_s``; the agent's
first reply comes a lognormal reply latency after the assignment (reading the bot transcript).
"""

from __future__ import annotations

import datetime as dt
import heapq
import importlib
import inspect
import math
import pkgutil
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

START = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)  # a Monday, 09:00 in Shantou
# Why customers ask for a person (shares): most ask, some after misunderstandings, a few complaints
# or anger, rarely someone hurt now.
REASON_MIX = (("asked", 0.60), ("misunderstood", 0.22), ("complaint", 0.08), ("angry", 0.07),
              ("urgent", 0.03))
ASSIGN_TICK_S = 5.0  # the worker's assignment job
HEARTBEAT_S = 20.0  # every open console tab


@dataclass(frozen=True)
class Profile:
    """The offered load of one run."""

    per_hour: int = 600
    peak_factor: float = 1.5  # the peak quarter's rate ÷ the other quarters' (1.5: a third of the hour)
    peak_start_s: float = 1200.0
    peak_len_s: float = 900.0
    warmup_s: float = 1200.0  # from an empty queue: flatters a system near saturation (docs/staffing.md)
    cooldown_s: float = 900.0
    aht_s: float = 360.0
    aht_sigma: float = 0.8  # lognormal shape: coefficient of variation about 0.95
    reply_latency_s: float = 30.0  # mean; lognormal, sigma 0.6 (the notes: 10-60 s to read the history)
    hour_s: float = 3600.0

    @property
    def off_peak_rate(self) -> float:
        """Arrivals per second outside the peak."""
        weight = self.hour_s - self.peak_len_s + self.peak_factor * self.peak_len_s
        return self.per_hour / weight


def arrival_times(rng: random.Random, profile: Profile) -> list[tuple[float, bool]]:
    """(seconds from the start of the warm-up, counted?) in time order.

    The measured hour holds exactly ``per_hour`` arrivals placed independently with density
    proportional to the rate (a Poisson process conditioned on its count); the warm-up and cool-down
    are Poisson at the off-peak rate.
    """
    p = profile
    times: list[tuple[float, bool]] = []
    t = 0.0
    while True:  # warm-up
        t += rng.expovariate(p.off_peak_rate)
        if t >= p.warmup_s:
            break
        times.append((t, False))
    peak_mass = p.peak_factor * p.peak_len_s
    total_mass = p.hour_s - p.peak_len_s + peak_mass
    for _ in range(p.per_hour):
        u = rng.random() * total_mass
        if u < peak_mass:
            x = p.peak_start_s + u / p.peak_factor
        else:
            x = u - peak_mass
            if x >= p.peak_start_s:
                x += p.peak_len_s
        times.append((p.warmup_s + x, True))
    t = p.warmup_s + p.hour_s
    while True:  # cool-down
        t += rng.expovariate(p.off_peak_rate)
        if t >= p.warmup_s + p.hour_s + p.cooldown_s:
            break
        times.append((t, False))
    times.sort()
    return times


def lognormal(rng: random.Random, mean: float, sigma: float) -> float:
    """A lognormal draw with the given mean (not median)."""
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2.0, sigma)


def pick_reason(rng: random.Random) -> str:
    u, acc = rng.random(), 0.0
    for reason, share in REASON_MIX:
        acc += share
        if u < acc:
            return reason
    return REASON_MIX[0][0]


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


# --- the product's functions, found where A1 put them ---------------------------------------------

NEEDED = ("request_handoff", "wait_message", "estimate_wait", "set_state", "heartbeat", "assign_waiting",
          "waiting", "take", "reply", "close")


def find_functions(names: tuple[str, ...] = NEEDED) -> tuple[dict[str, Callable[..., Any]], list[str]]:
    """The handoff domain's public functions by name (any module of ``backend.handoff``), and the
    names not found."""
    import backend.handoff as pkg

    found: dict[str, Callable[..., Any]] = {}
    modules = [importlib.import_module(f"backend.handoff.{m.name}")
               for m in pkgutil.iter_modules(pkg.__path__) if m.name not in ("api", "pages")]
    for name in names:
        for module in modules:
            fn = getattr(module, name, None)
            if callable(fn) and getattr(fn, "__module__", "").startswith("backend.handoff"):
                found[name] = fn
                break
    return found, [n for n in names if n not in found]


def call(fn: Callable[..., Any], *args: Any, extras: dict[str, Any], **kwargs: Any) -> Any:
    """Call ``fn`` with the given arguments plus those of ``extras`` it declares (cipher, redis…)."""
    params = inspect.signature(fn).parameters
    for name, value in extras.items():
        if name in params and name not in kwargs:
            kwargs[name] = value
    return fn(*args, **kwargs)


# --- the run ---------------------------------------------------------------------------------------

@dataclass
class Customer:
    index: int
    arrive_s: float
    counted: bool
    reason: str
    handoff_id: int = 0
    told: tuple[float, float] | None = None
    assigned_s: float | None = None
    first_reply_s: float | None = None
    closed_s: float | None = None
    agent: int | None = None


@dataclass
class Result:
    agents: int
    capacity: int
    customers: list[Customer] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def counted(self) -> list[Customer]:
        return [c for c in self.customers if c.counted]

    def first_response_waits(self) -> list[float]:
        return [c.first_reply_s - c.arrive_s for c in self.counted if c.first_reply_s is not None]

    def assignment_waits(self) -> list[float]:
        return [c.assigned_s - c.arrive_s for c in self.counted if c.assigned_s is not None]

    def unanswered(self) -> int:
        return sum(1 for c in self.counted if c.first_reply_s is None)

    def share_within(self, limit_s: float = 180.0) -> float:
        waits = self.first_response_waits()
        n = len(self.counted)
        return sum(1 for w in waits if w <= limit_s) / n if n else math.nan

    def honest_share(self, *, above_s: float = 0.0) -> float:
        """Share of counted customers whose real first-response wait fell inside the range told (only
        those told an upper bound above ``above_s``: 120 leaves out the "soon" answers)."""
        told = [(c, c.told) for c in self.counted
                if c.told is not None and c.first_reply_s is not None and c.told[1] > above_s]
        if not told:
            return math.nan
        inside = sum(1 for c, (lo, hi) in told if lo <= c.first_reply_s - c.arrive_s <= hi)  # type: ignore[operator]
        return inside / len(told)

    def told_share(self) -> float:
        n = len(self.counted)
        return sum(1 for c in self.counted if c.told is not None) / n if n else math.nan

    def told_range_share(self) -> float:
        """Share of counted customers told a range (upper bound above 2 minutes), not "soon"."""
        n = len(self.counted)
        return sum(1 for c in self.counted if c.told is not None and c.told[1] > 120) / n if n else math.nan

    def summary(self) -> dict[str, float]:
        waits = self.first_response_waits()
        assign = self.assignment_waits()
        return {"agents": self.agents, "customers": len(self.counted), "within_3min": self.share_within(),
                "p50_s": percentile(waits, 0.5), "p90_s": percentile(waits, 0.9),
                "assign_p50_s": percentile(assign, 0.5), "assign_p90_s": percentile(assign, 0.9),
                "max_s": max(waits) if waits else math.nan, "honest": self.honest_share(),
                "told": self.told_share(), "honest_ranges": self.honest_share(above_s=120.0),
                "told_range": self.told_range_share(), "unanswered": self.unanswered(), "wall_s": self.wall_s}


class BusyHour:
    """One simulated busy hour with ``agents`` agents, over a fresh schema on ``engine``."""

    def __init__(self, *, engine: Any, redis_client: Any, cipher: Any, agents: int, profile: Profile,
                 seed: int, mode: str = "auto", capacity: int = 3) -> None:
        self.engine, self.redis, self.cipher = engine, redis_client, cipher
        self.agents, self.profile, self.mode, self.capacity = agents, profile, mode, capacity
        self.rng = random.Random(seed)
        self.fn, missing = find_functions()
        if missing:
            raise LookupError("backend/handoff lacks " + ", ".join(missing))
        self.heap: list[tuple[float, int, str, Any]] = []
        self.seq = 0
        self.t = 0.0
        self.staff_ids: list[int] = []
        self.load: dict[int, int] = {}
        self.by_handoff: dict[int, Customer] = {}

    # clock and events
    def now(self) -> dt.datetime:
        return START + dt.timedelta(seconds=self.t)

    def push(self, at_s: float, kind: str, data: Any = None) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at_s, self.seq, kind, data))

    def extras(self) -> dict[str, Any]:
        return {"cipher": self.cipher, "redis": self.redis, "client": self.redis}

    # setup
    def _reset_schema(self) -> None:
        from backend.model_registry import metadata

        metadata.drop_all(self.engine)
        metadata.create_all(self.engine)
        self.redis.flushdb()

    def _create_agents(self, session: Any) -> None:
        from backend.staff.models import StaffUser

        at = self.now()
        for i in range(self.agents):
            user = StaffUser(username=f"agent{i:03d}", display_name=f"坐席{i:03d}", role="agent",
                             password_hash="bench", password_changed_at=at, totp_secret_enc="v1.k.x",
                             created_at=at, updated_at=at)
            session.add(user)
            session.flush()
            self.staff_ids.append(user.id)
            self.load[user.id] = 0
            call(self.fn["set_state"], session, self.redis, user.id, "online", at, extras={})

    # the run
    def run(self) -> Result:
        import time

        from backend.db import make_sessionmaker, session_scope

        self._reset_schema()
        sessions = make_sessionmaker(self.engine, audit_key=b"bench-audit-key-0123456789abcdef")
        result = Result(agents=self.agents, capacity=self.capacity)
        wall0 = time.perf_counter()
        with session_scope(sessions) as session:
            self._create_agents(session)
        for i, (at, counted) in enumerate(arrival_times(self.rng, self.profile)):
            c = Customer(index=i, arrive_s=at, counted=counted, reason=pick_reason(self.rng))
            result.customers.append(c)
            self.push(at, "arrive", c)
        end_s = self.profile.warmup_s + self.profile.hour_s + self.profile.cooldown_s
        self.push(0.0, "tick")
        while self.heap:
            at, _, kind, data = heapq.heappop(self.heap)
            self.t = at
            if kind == "tick" and self.t > end_s and not any(
                    c.first_reply_s is None for c in result.customers if c.handoff_id):
                continue  # drained: no tick reschedules itself
            with session_scope(sessions) as session:
                getattr(self, f"_on_{kind}")(session, data)
        result.wall_s = time.perf_counter() - wall0
        return result

    def _on_arrive(self, session: Any, c: Customer) -> None:
        now = self.now()
        row = call(self.fn["request_handoff"], session, extras=self.extras(), channel="official_account",
                   user_id=f"oBusyHour{c.index:05d}", reason=c.reason, flow=None,
                   summary="我想找人工问一下理赔", now=now)
        c.handoff_id = row.id
        self.by_handoff[row.id] = c
        # What the customer is told, once, as the bot does it (stored on the row: told_low_s/told_high_s).
        call(self.fn["wait_message"], session, self.redis, row, now, extras={})
        if row.told_low_s is not None and row.told_high_s is not None:
            c.told = (float(row.told_low_s), float(row.told_high_s))
        self._assign(session)

    def _on_tick(self, session: Any, _data: Any) -> None:
        now = self.now()
        if int(self.t) % int(HEARTBEAT_S) < ASSIGN_TICK_S:
            for staff_id in self.staff_ids:
                call(self.fn["heartbeat"], self.redis, staff_id, now, extras={})
        self._assign(session)
        self.push(self.t + ASSIGN_TICK_S, "tick")

    def _assign(self, session: Any) -> None:
        now = self.now()
        if self.mode == "auto":
            pairs = call(self.fn["assign_waiting"], session, self.redis, now, extras={})
        else:  # agents pick the head of the queue while they have room
            pairs = []
            queue = call(self.fn["waiting"], session, extras={})
            for staff_id in sorted(self.staff_ids, key=lambda s: self.load[s]):
                while queue and self.load[staff_id] < self.capacity:
                    queue = call(self.fn["waiting"], session, extras={})
                    if not queue:
                        break
                    row = call(self.fn["take"], session, extras=self.extras(), handoff_id=queue[0].id,
                               staff_id=staff_id, now=now)
                    pairs.append((row.id, staff_id))
                    self.load[staff_id] += 1
        for handoff_id, staff_id in pairs:
            c = self.by_handoff[handoff_id]
            c.assigned_s, c.agent = self.t, staff_id
            if self.mode == "auto":
                self.load[staff_id] = self.load.get(staff_id, 0) + 1
            latency = lognormal(self.rng, self.profile.reply_latency_s, 0.6)
            handle = max(lognormal(self.rng, self.profile.aht_s, self.profile.aht_sigma), latency + 30.0)
            self.push(self.t + latency, "reply", c)
            self.push(self.t + handle, "close", c)

    def _on_reply(self, session: Any, c: Customer) -> None:
        call(self.fn["reply"], session, extras=self.extras(), handoff_id=c.handoff_id, staff_id=c.agent,
             text="您好，我是客服小陈，我来帮您看看。", now=self.now())
        c.first_reply_s = self.t

    def _on_close(self, session: Any, c: Customer) -> None:
        call(self.fn["close"], session, extras=self.extras(), handoff_id=c.handoff_id, staff_id=c.agent,
             disposition="resolved", summary="已解答", now=self.now())
        c.closed_s = self.t
        if c.agent is not None:
            self.load[c.agent] -= 1
        self._assign(session)


def simulate(*, agents: int, profile: Profile, seed: int, mode: str = "auto", engine: Any,
             redis_client: Any, cipher: Any) -> Result:
    """One busy hour with ``agents`` agents (a fresh schema each time)."""
    return BusyHour(engine=engine, redis_client=redis_client, cipher=cipher, agents=agents,
                    profile=profile, seed=seed, mode=mode).run()


def median_of(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan
