"""Notice sending benchmark (a script, not collected by pytest):
``python tests/bench/bench_notices_send.py``.

10,000 template-message notices through real worker processes (``python -m backend worker``, 1 then
2), the Redis stream and PostgreSQL, to the fake WeChat API running in its own process. The rate is
measured from the moment the rows are due until the last notice is recorded sent; the fake is asked
afterwards how many messages it got (each exactly once). Target: ≥ 1,000 notices/s with 2 processes.
Then, in this process, where one notice's time goes (rendering, the HTTP call, the group commit,
the claim and the queue message), from timing each step alone on the same objects.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TARGET_PER_S = 1000.0
KEYS = json.dumps({"k1": "dGVzdC1maWVsZC1rZXktMzItYnl0ZXMtbG9uZy4uLi4="})


def items(n: int, now: dt.datetime, tag: str) -> list:  # type: ignore[type-arg]
    return [(f"{tag}:{i}", now, {"kind": "claim_progress", "subject": ["claim", i], "urgent": False,
                                 "to": {"openid": f"oSend{i:07d}", "app": "official_account"},
                                 "params": {"case_no": f"LP{i:011d}", "state": "under_review",
                                            "date": "2026-12-03"},
                                 "at": now.isoformat()}) for i in range(n)]


def env_for(db_url: str, redis_url: str, fake_url: str, var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CS_")}
    env.update({"CS_MODE": "local", "CS_DATABASE_URL": db_url, "CS_REDIS_URL": redis_url,
                "CS_VAR_DIR": str(var),
                "CS_CRYPTO__KEYS": KEYS, "CS_CRYPTO__ACTIVE_KEY_ID": "k1",
                "CS_CRYPTO__BLIND_INDEX_KEY": "bench-blind-index-key-0123456789",
                "CS_WECHAT__APP_ID": "wxfake000000000001", "CS_WECHAT__APP_SECRET": "fake-secret",
                "CS_WECHAT__API_BASE_URL": fake_url,
                "CS_NOTICES__RATE_PER_S": json.dumps({"wechat_template": 100000}),
                "CS_JOBS__POLL_INTERVAL_S": "0.05", "CS_JOBS__CLAIM_BATCH": "1000",
                "CS_JOBS__MAX_IN_FLIGHT": "3000", "CS_JOBS__QUEUE_LEASE_S": "60", "PYTHONPATH": str(ROOT)})
    return env


def cpu_s(pids: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each group of processes; PostgreSQL's with the
    postmaster's children (its backends, alive or reaped)."""
    import psutil

    out: dict[str, float] = {}
    for name, group in pids.items():
        total = 0.0
        for pid in group:
            try:
                proc = psutil.Process(pid)
                t = proc.cpu_times()
                total += t.user + t.system
                if name != "PostgreSQL":
                    continue
                total += t.children_user + t.children_system
                for child in proc.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        c = child.cpu_times()
                        total += c.user + c.system
            except psutil.Error:
                pass
        out[name] = total
    return out


def run(n: int, procs: int, engine, db_url: str, redis_url: str, fake_url: str,  # type: ignore[no-untyped-def]
        var: Path, tag: str, others: dict[str, list[int]]) -> tuple[float, dict[str, float]]:
    import httpx
    from sqlalchemy import func, select, text

    from backend.db import make_sessionmaker, session_scope, utcnow
    from backend.jobs import service as jobs
    from backend.notices.models import Notice

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE jobs, notices RESTART IDENTITY"))
    env = env_for(db_url, redis_url, fake_url, var)
    logs = [open(var / f"{tag}-w{i}.log", "wb") for i in range(procs)]  # noqa: SIM115
    workers = [subprocess.Popen([sys.executable, "-m", "backend", "worker"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT) for log in logs]
    try:
        deadline = time.monotonic() + 120
        while not all(b"worker running" in (var / f"{tag}-w{i}.log").read_bytes() for i in range(procs)):
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")
            time.sleep(0.2)
        time.sleep(1.0)
        before = httpx.get(f"{fake_url}/_fake/stats").json()
        now = utcnow()
        with session_scope(make_sessionmaker(engine)) as s:
            jobs.schedule_many(s, kind="notices.send", items=items(n, now, tag), replace=False, now=now)
        pids = {"worker processes": [w.pid for w in workers], **others}
        cpu0 = cpu_s(pids)
        t0 = time.perf_counter()
        while True:
            with engine.connect() as conn:
                q = select(func.count()).select_from(Notice).where(Notice.state == "sent")
                sent = conn.execute(q).scalar()
            if sent >= n:
                break
            if time.perf_counter() - t0 > 600:
                raise RuntimeError(f"only {sent} of {n} sent")
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        cpu1 = cpu_s(pids)
        after = httpx.get(f"{fake_url}/_fake/stats").json()
        got = after["distinct"] - before["distinct"]
        assert got == n and after["templates"] - before["templates"] == n, (before, after)
        return elapsed, {k: (cpu1[k] - cpu0[k]) / n * 1e6 for k in cpu1}
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(30)
        for log in logs:
            log.close()


def breakdown(fake_url: str, redis_url: str, engine) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """µs per notice of each step, timed alone on the same objects (one thread)."""
    import asyncio

    import redis

    from backend.db import make_sessionmaker, session_scope, utcnow
    from backend.gateways.wechat import WechatGateway
    from backend.hooks import FastOutcome, JobContext
    from backend.jobs import queue
    from backend.jobs import service as jobs
    from backend.jobs.group import GroupCommitter
    from backend.jobs.runner import claim_due
    from backend.notices.templates import load_book
    from backend.notices.words import words
    from config.settings import Settings

    settings = Settings(mode="local")
    book = load_book()
    template = book.kind("claim_progress").wechat_template
    assert template is not None
    client = redis.Redis.from_url(redis_url)
    gateway = WechatGateway(app_id="wxfake000000000001", app_secret="fake-secret", redis_client=client,
                            api_base_url=fake_url)
    n = 2000
    now = utcnow()
    params = {"case_no": "LP00000000001", "state": "under_review", "date": "2026-12-03"}
    out: dict[str, float] = {}
    t = time.perf_counter()
    for _ in range(n):
        template.data(words(book, params))
    out["render"] = (time.perf_counter() - t) / n * 1e6
    t = time.perf_counter()
    for i in range(n):
        gateway.send_template(f"oBd{i}", template.template_id, {"thing2": {"value": "x"}},
                              client_msg_id=f"bd{i}")
    out["HTTP call"] = (time.perf_counter() - t) / n * 1e6
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE jobs, notices RESTART IDENTITY"))
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as s:
        jobs.schedule_many(s, kind="notices.send", items=items(n, now, "bd"), replace=False, now=now)
    broker = queue.make_broker(redis_url, settings.jobs)
    loop = asyncio.new_event_loop()
    t = time.perf_counter()
    claimed = []
    while len(claimed) < n:
        with session_scope(sessions) as s:
            got = claim_due(s, now=utcnow(), limit=1000, lease_s=600, with_payload=["notices.send"])
        loop.run_until_complete(queue.kick_many(broker, queue.messages(got, {}, frozenset({"notices.send"}))))
        claimed += got
    out["claim + queue message"] = (time.perf_counter() - t) / n * 1e6
    loop.run_until_complete(broker.shutdown())
    loop.close()
    ctx = JobContext(sessions=sessions, redis=client, cipher=None, catalog=None)  # type: ignore[arg-type]
    group = GroupCommitter(ctx, window_s=0.0, max_items=200)
    from backend.jobs.group import _Item
    from backend.notices.models import Notice

    def _recorder(c):  # type: ignore[no-untyped-def]
        return lambda s: s.add(Notice(key=c.key, kind="claim_progress", subject_type="claim", subject_id=c.id,
                                      params={}, state="sent", attempts=[]))

    t = time.perf_counter()
    for start in range(0, n, 200):
        batch = claimed[start:start + 200]
        group._flush([_Item(c, FastOutcome(record=_recorder(c))) for c in batch])
    out["group commit"] = (time.perf_counter() - t) / n * 1e6
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notices", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    import tempfile

    from backend.db import make_engine
    from backend.migrate import upgrade_to_head
    from tests.support.servers import start_postgres, start_redis

    pg, rd = start_postgres(), start_redis()
    fake = subprocess.Popen([sys.executable, "-m", "tests.support.fake_wechat"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert fake.stdout is not None
    fake_url = fake.stdout.readline().decode().strip()
    rates: dict[int, list[float]] = {1: [], 2: []}
    cpu: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    others = {"fake WeChat": [fake.pid], "PostgreSQL": pg.pids(), "Redis": rd.pids(),
              "this script (poll)": [os.getpid()]}
    try:
        engine = make_engine(pg.url, statement_timeout_ms=600_000)
        upgrade_to_head(engine)
        with tempfile.TemporaryDirectory(prefix="bench-send-") as tmp:
            for r in range(args.repeat):
                for procs in (1, 2):
                    elapsed, used = run(args.notices, procs, engine, pg.url, rd.url, fake_url, Path(tmp),
                                        f"r{r}p{procs}", others)
                    rates[procs].append(args.notices / elapsed)
                    cpu[procs].append(used)
                    print(f"{procs} worker process(es): {args.notices:,} notices in {elapsed:.2f} s = "
                          f"{args.notices / elapsed:,.0f}/s", flush=True)
        parts = breakdown(fake_url, rd.url, engine)
        engine.dispose()
    finally:
        fake.stdin.close()  # type: ignore[union-attr]
        fake.wait(10)
        pg.stop()
        rd.stop()
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    spread = max((max(v) - min(v)) / statistics.median(v) for v in rates.values())
    print()
    print(f"1 process {one:,.0f}/s, 2 processes {two:,.0f}/s: ratio {two / one:.2f}× "
          f"(spread across repeats {spread:.0%}, the noise)")
    print("CPU per notice by process (µs, median of the repeats; 2 cores = 2,000 µs per notice at 1,000/s):")
    for procs in (1, 2):
        names = list(cpu[procs][0])
        row = {k: statistics.median(u[k] for u in cpu[procs]) for k in names}
        print(f"  {procs} worker process(es): " + ", ".join(f"{k} {v:,.0f}" for k, v in row.items())
              + f"; all {sum(row.values()):,.0f}")
    total = sum(parts.values())
    print("where one notice's time goes (µs, each step timed alone, one thread):")
    for name, us in parts.items():
        print(f"  {name:<24}{us:>8.0f} µs  {us / total:>4.0%}")
    ok = two >= TARGET_PER_S
    print(f"target ≥ {TARGET_PER_S:,.0f} notices/s with 2 processes: {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
