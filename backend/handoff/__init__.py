"""Handoff to human agents: requests now; queue, console and SLA timers later."""
