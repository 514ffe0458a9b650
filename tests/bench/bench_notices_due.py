"""Due progress notices benchmark (a script, not collected by pytest):
``python tests/bench/bench_notices_due.py``.

On a throw-away PostgreSQL: N open claims (10k, 100k, 300k by default), each with its progress timer
(``notices.claim_progress``) due now. Measured, as one worker does it:
* ``claim+kick``: the poller claiming the due timers (``FOR UPDATE SKIP LOCKED``, ``claim_batch`` rows
  at a time) and sending their queue messages to Redis (one per 500: a batch kind);
* ``enqueue``: the batch handlers writing one ``notices.send`` row per claim (the notice, with the
  claim's stage and dates, in the outbox) and arming the next timers;
and the total against the target (100k ≤ 5 s) and the growth from one size to the next (linear: the
time per claim stays the same). Each size is run ``--repeat`` times; the spread is the noise.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TARGET_100K_S = 5.0


def seed(engine, n: int, now: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    """``n`` open claims under review, each with its progress timer due now."""
    from sqlalchemy import insert, text

    from backend.claims.models import Claim
    from backend.jobs.models import Job

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE claims, jobs RESTART IDENTITY CASCADE"))
    standards = {"progress_notice_every_working_days": 3}
    chunk = 20_000
    for start in range(0, n, chunk):
        rows = [{"id": i + 1, "case_no": f"LP{i:011d}", "product_id": "chaonan-elderly-accident",
                 "claim_type": "hospital_allowance", "state": "under_review", "version": 3,
                 "insured_name_masked": "陈*婆", "reporter_relation": "本人", "channel": "official_account",
                 "reporter_openid": f"oBench{i:07d}", "reporter_phone_enc": "v1.k.x",
                 "accident_date": dt.date(2026, 11, 1), "accident_type": "摔倒", "description_enc": "v1.k.x",
                 "reported_at": now, "updated_at": now, "deadline_kind": "materials_review",
                 "deadline_date": dt.date(2026, 12, 3), "deadline_provisional": False,
                 "standards": standards, "is_complex": False, "bank_name_mismatch": False}
                for i in range(start, min(n, start + chunk))]
        timers = [{"kind": "notices.claim_progress", "key": str(r["id"]), "state": "pending", "due_at": now,
                   "payload": {"phone_purpose": "claims.reporter_phone"}, "attempts": 0, "token": 0,
                   "created_at": now, "updated_at": now} for r in rows]
        with engine.begin() as conn:
            conn.execute(insert(Claim), rows)
            conn.execute(insert(Job), timers)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE claims; ANALYZE jobs"))


def run_once(engine, redis_url: str, n: int, now: dt.datetime) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from backend.calendar.service import WorkingCalendar
    from backend.db import make_sessionmaker, session_scope
    from backend.hooks import JobContext
    from backend.jobs import queue
    from backend.jobs.models import Job
    from backend.jobs.registry import discover
    from backend.jobs.runner import Executor, claim_due
    from backend.products.service import load_catalog
    from backend.security.crypto import FieldCipher
    from config.settings import CONFIG_DIR, Settings

    settings = Settings(mode="local")
    sessions = make_sessionmaker(engine)
    key = "bG9jYWwtZGV2LWtleS1kby1ub3QtdXNlLWluLXByb2Q="
    cipher = FieldCipher.from_config(keys_json=json.dumps({"b": key}), active_key_id="b",
                                     blind_index_key="bench-blind-index-key-0123456789")
    import redis

    ctx = JobContext(sessions=sessions, redis=redis.Redis.from_url(redis_url), cipher=cipher,
                     catalog=load_catalog(products_dir=CONFIG_DIR / "products",
                                          default_id="chaonan-elderly-accident"),
                     calendar=WorkingCalendar.load(CONFIG_DIR / "holidays.yaml"), settings=settings,
                     clock=lambda: now)
    registry = discover()
    executor = Executor(ctx, registry)
    broker = queue.make_broker(redis_url, settings.jobs)
    sizes = {k.name: k.batch_size for k in registry.kinds.values()}
    claimed_all = []
    loop = asyncio.new_event_loop()
    t0 = time.perf_counter()
    while True:
        with session_scope(sessions) as s:
            claimed = claim_due(s, now=now, limit=5000, lease_s=600, kinds=["notices.claim_progress"],
                                with_payload=["notices.send"])
        if not claimed:
            break
        loop.run_until_complete(queue.kick_many(broker, queue.messages(claimed, sizes)))
        claimed_all.extend(claimed)
    t_claim = time.perf_counter() - t0
    for msg_kind, pairs in queue.messages(claimed_all, sizes):
        executor.execute([_claimed(p, msg_kind) for p in pairs])
    t_total = time.perf_counter() - t0
    loop.run_until_complete(broker.shutdown())
    loop.close()
    with engine.connect() as conn:
        sends = conn.execute(select(func.count()).select_from(Job).where(Job.kind == "notices.send")).scalar()
    assert sends == n, f"{sends} notices for {n} claims"
    return {"claim": t_claim, "enqueue": t_total - t_claim, "total": t_total}


def _claimed(pair: list, kind: str):  # type: ignore[no-untyped-def,type-arg]
    from backend.jobs.runner import Claimed

    return Claimed(int(pair[0]), kind, int(pair[1]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,300000")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    from backend.db import make_engine
    from backend.migrate import upgrade_to_head
    from tests.support.servers import start_postgres, start_redis

    server, redis_server = start_postgres(), start_redis()
    now = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    results: dict[int, list[dict[str, float]]] = {}
    try:
        engine = make_engine(server.url, statement_timeout_ms=600_000)
        upgrade_to_head(engine)
        for n in [int(x) for x in args.sizes.split(",")]:
            for _ in range(args.repeat):
                seed(engine, n, now)
                results.setdefault(n, []).append(run_once(engine, redis_server.url, n, now))
                r = results[n][-1]
                print(f"{n:>8,} claims: claim+kick {r['claim']:.2f} s, enqueue {r['enqueue']:.2f} s, "
                      f"total {r['total']:.2f} s", flush=True)
        engine.dispose()
    finally:
        server.stop()
        redis_server.stop()
    print()
    print(f"{'claims':>9}{'total (median)':>16}{'spread':>9}{'µs/claim':>10}{'vs previous size':>18}")
    ok, prev = True, None
    for n, runs in results.items():
        totals = [r["total"] for r in runs]
        med = statistics.median(totals)
        spread = (max(totals) - min(totals)) / med if med else 0.0
        growth = f"{(med / prev[1]) / (n / prev[0]):.2f}× linear" if prev else ""
        print(f"{n:>9,}{med:>15.2f}s{spread:>8.0%}{med / n * 1e6:>10.1f}{growth:>18}")
        if n == 100_000 and med > TARGET_100K_S:
            ok = False
        prev = (n, med)
    print(f"target: 100,000 due claims found and enqueued in ≤ {TARGET_100K_S:.0f} s on PostgreSQL: "
          f"{'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
