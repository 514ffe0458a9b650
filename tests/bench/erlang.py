"""Erlang C for chat agents who each serve several chats at once (standard library only).

A chat agent with a capacity of ``k`` concurrent chats is counted as ``k`` servers ("slots"), each
busy for the whole handling time of one chat: the usual way to staff multi-chat queues (it assumes
the handling time already includes the slowdown of juggling chats). Arrivals are Poisson, handling
times exponential, nobody abandons (M/M/c): a floor for real staffing, which has peaks, longer tails
and reply latency on top (see ``bench_busy_hour.py``).

Formulas (Gans, Koole & Mandelbaum 2003, "Telephone call centers: tutorial, review, and research
prospects", §4.1): with offered load ``A = λ·AHT`` Erlangs and ``c`` servers,

* Erlang B by the stable recurrence ``B(0) = 1``, ``B(n) = A·B(n-1) / (n + A·B(n-1))``;
* probability of waiting ``C = B / (1 - (A/c)(1 - B))`` (``c > A``, else 1);
* service level ``P(W ≤ t) = 1 - C·exp(-(c - A)·t / AHT)``;
* average speed of answer ``ASA = C·AHT / (c - A)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of ``servers`` servers offered ``load`` Erlangs (no queue)."""
    if servers < 0 or load < 0:
        raise ValueError("servers and load must not be negative")
    b = 1.0
    for n in range(1, servers + 1):
        b = load * b / (n + load * b)
    return b


def erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival waits (all ``servers`` busy); 1.0 when the queue is unstable."""
    if servers <= load:
        return 1.0
    b = erlang_b(servers, load)
    rho = load / servers
    return b / (1.0 - rho * (1.0 - b))


def service_level(servers: int, load: float, aht_s: float, within_s: float) -> float:
    """Share of arrivals answered within ``within_s`` seconds."""
    if servers <= load:
        return 0.0
    return 1.0 - erlang_c(servers, load) * math.exp(-(servers - load) * within_s / aht_s)


def asa_s(servers: int, load: float, aht_s: float) -> float:
    """Average wait before an answer (seconds), over all arrivals."""
    if servers <= load:
        return math.inf
    return erlang_c(servers, load) * aht_s / (servers - load)


@dataclass(frozen=True)
class Staffing:
    """The smallest staffing for a target, with what it achieves."""

    agents: int
    slots: int
    load_erlangs: float
    service_level: float
    p_wait: float
    asa_s: float
    occupancy: float


def agents_for(*, chats_per_hour: float, aht_s: float, chats_per_agent: int, within_s: float,
               target: float, max_agents: int = 10_000) -> Staffing:
    """The fewest agents (each ``chats_per_agent`` slots) whose service level reaches ``target``."""
    if chats_per_agent < 1:
        raise ValueError("chats_per_agent must be at least 1")
    load = chats_per_hour * aht_s / 3600.0
    for agents in range(1, max_agents + 1):
        slots = agents * chats_per_agent
        sl = service_level(slots, load, aht_s, within_s)
        if sl >= target:
            return Staffing(agents=agents, slots=slots, load_erlangs=load, service_level=sl,
                            p_wait=erlang_c(slots, load), asa_s=asa_s(slots, load, aht_s),
                            occupancy=load / slots)
    raise ValueError(f"no staffing up to {max_agents} agents reaches {target:.0%}")


def slots_for(*, chats_per_hour: float, aht_s: float, within_s: float, target: float) -> int:
    """The fewest single-chat servers whose service level reaches ``target``."""
    return agents_for(chats_per_hour=chats_per_hour, aht_s=aht_s, chats_per_agent=1,
                      within_s=within_s, target=target).slots
