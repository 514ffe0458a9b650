"""A job worker process for tests: ``python -m tests.support.worker_proc`` (settings from CS_…).

It is ``python -m backend worker`` plus the test kinds below: ``test.mark`` records, in the same
transaction as its finish, one ``test.fired`` row per run that committed (so a count per key is the
number of times the effect happened), and appends its key to ``$WORKER_LOG`` each time it runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

from sqlalchemy.orm import Session

from backend.hooks import JobContext, JobKind, JobRow
from backend.jobs import service as jobs
from backend.jobs.registry import discover


def mark(ctx: JobContext, session: Session, row: JobRow) -> None:
    """Record that the timer fired (a row keyed by this run's token: one per committed run)."""
    log = os.environ.get("WORKER_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{row.key}\n")
    time.sleep(float(os.environ.get("MARK_SLEEP_S", "0")))
    jobs.schedule(session, kind="test.fired", key=f"{row.key}#{row.token}", due_at=ctx.now()
                  + __import__("datetime").timedelta(days=3650), replace=False)


def main() -> None:
    from backend.logs import configure_logging
    from backend.runtime import build_runtime
    from backend.worker import QueueWorker
    from config.settings import get_settings

    configure_logging()
    registry = discover()
    registry.add(JobKind(name="test.mark", handler=mark, lease_s=30))
    runtime = build_runtime(get_settings())
    worker = QueueWorker(runtime, registry=registry)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        print("worker ready", flush=True)
        await worker.run(stop)

    try:
        asyncio.run(run())
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
