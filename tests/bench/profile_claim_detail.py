"""Claim detail, in process (a script, not pytest): ``python tests/bench/profile_claim_detail.py``.

The same data as ``bench_miniprogram.py`` (PostgreSQL, Redis), ``GET /mp/v1/claims/{id}`` called
``PROFILE_N`` times (default 400) straight through the ASGI app, no HTTP server: the wall time per
request, then cProfile's top functions and its counts per request (Python calls, statements, round
trips, worker-thread hops). ``PROFILE_INLINE=1`` runs the worker-thread parts in the loop's thread so
that cProfile sees them (it follows one thread; without it the counts miss what the worker threads
do). For where the time goes, not for the target.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

N = int(os.environ.get("PROFILE_N", "400"))
COUNTED = {
    "SQL statements": "sqlalchemy/engine/default.py:do_execute",
    "PostgreSQL queries (ping included)": "psycopg/cursor.py:execute",
    "PostgreSQL BEGIN/COMMIT": "psycopg/_connection_base.py:_exec_command",
    "Redis replies read": "redis/connection.py:read_response",
    "worker-thread hops (PROFILE_INLINE=1 only)": "profile_claim_detail.py:run_sync",
}


def _inline() -> None:
    import anyio.to_thread

    async def run_sync(func: Any, *args: Any, abandon_on_cancel: bool = False, cancellable: Any = None,
                       limiter: Any = None) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


async def _run(redis_url: str, db_url: str, var_dir: str, data: dict[str, Any]) -> None:
    import bench_miniprogram as bench

    from backend.app import create_app

    settings = bench.bench_settings(var_dir)
    rt = bench.build_runtime(settings, redis_url, db_url)
    app = create_app(settings, runtime_factory=lambda _s: rt)
    path = f"/mp/v1/claims/{data['claim_id']}"
    headers = [(b"host", b"b"), (b"authorization", f"Bearer {data['token']}".encode())]

    async def one() -> None:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 5555),
                 "server": ("127.0.0.1", 80), "state": {}}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        assert sent[0]["status"] == 200, sent

    async with app.router.lifespan_context(app):
        for _ in range(50):
            await one()
        times = []
        for _ in range(N):
            t0 = time.perf_counter()
            await one()
            times.append(time.perf_counter() - t0)
        p50, low = statistics.median(times) * 1000, min(times) * 1000
        print(f"wall per request: p50 {p50:.2f} ms, min {low:.2f} ms")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(N):
            await one()
        profile.disable()
    stats = pstats.Stats(profile)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    calls = sum(v[1] for v in raw.values())
    print(f"Python calls per request: {calls / N:.0f}")
    for label, where in COUNTED.items():
        count = sum(v[0] for k, v in raw.items() if where in f"{k[0]}:{k[2]}")
        print(f"{label} per request: {count / N:.1f}")
    stats.sort_stats("cumulative").print_stats(40)


def main() -> None:
    import bench_miniprogram as bench

    from tests.support.servers import start_postgres, start_redis

    if os.environ.get("PROFILE_INLINE") == "1":
        _inline()
    redis = start_redis()
    pg = start_postgres()
    try:
        var_dir = tempfile.mkdtemp(prefix="profile-mp-")
        data = bench.populate(redis.url, pg.url, var_dir)
        asyncio.run(_run(redis.url, pg.url, var_dir, data))
    finally:
        redis.stop()
        pg.stop()


if __name__ == "__main__":
    main()
