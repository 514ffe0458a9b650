"""A batch of 2,000 rows is locked and marked done with its ids as ONE parameter on PostgreSQL
(``id = ANY(:ids)``: an ``IN`` list of 2,000 parameters cost a fifth of a due-claims batch to render
and bind), and still as an ``IN`` list on SQLite; both finish every row, once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from backend.db import session_scope
from backend.hooks import JobContext, JobKind
from backend.jobs import service as jobs
from backend.jobs.models import Job
from backend.jobs.registry import Registry
from backend.jobs.runner import Executor, claim_due
from backend.runtime import Runtime
from tests.backend.jobs.conftest import Clock

N = 2000


def test_a_batch_of_2000_binds_its_ids_once_on_postgresql(runtime: Runtime, db: Session, clock: Clock,
                                                          ctx: JobContext, registry: Registry,
                                                          engine: Engine) -> None:
    seen: list[list[str]] = []

    def batch(_c: JobContext, _s: Session, rows: list) -> dict[int, dt.datetime]:  # type: ignore[type-arg]
        seen.append([r.key for r in rows])
        # Half armed again for tomorrow, half done: both statements run on the batch's ids.
        return {r.id: clock() + dt.timedelta(days=1) for r in rows if int(r.key) % 2}

    registry.add(JobKind(name="test.big", batch_handler=batch, batch_size=N))
    jobs.schedule_many(db, kind="test.big", items=[(str(i), clock(), None) for i in range(N)], now=clock())
    db.commit()
    with session_scope(runtime.sessions) as s:
        claimed = claim_due(s, now=clock(), limit=N, lease_s=60, kinds=["test.big"])
    assert len(claimed) == N
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if "jobs" in statement.lower():
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert Executor(ctx, registry).execute(claimed) == N
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(seen) == 1 and sorted(map(int, seen[0])) == list(range(N))
    db.expire_all()
    q = select(Job.state, func.count()).where(Job.kind == "test.big").group_by(Job.state)
    states = {state: count for state, count in db.execute(q)}
    assert states == {"done": N // 2, "pending": N // 2}
    assert statements
    largest = max(len(p) if isinstance(p, (dict, list, tuple)) else 0 for _s, p in statements)
    if engine.dialect.name == "postgresql":
        assert all("ANY" in s.upper() for s, _p in statements)
        assert largest < 20  # ids, times and set values: never one parameter per id
    else:
        assert largest >= N // 2  # SQLite: the IN list, as before
