# ruff: noqa: B023
"""Webhook benchmark (a script, not collected by pytest): ``python tests/bench/bench_webhook.py``.

Side by side, one uvicorn worker each: a bare FastAPI endpoint returning fixed XML, and the real
webhook in safe (AES) mode answering a FAQ-like handler with dedupe, dialogue state in Redis and the
turn persisted (SQLite WAL file; set BENCH_DATABASE_URL for PostgreSQL). The load generator is a raw
asyncio HTTP/1.1 client in a separate process with pre-signed, pre-encrypted requests.

Reports: server CPU µs per request for both (their ratio is the throughput ratio on equal CPU),
achieved req/s, a CPU breakdown per step (in-process), p50/p99 at a steady 500 msg/s, and 64
concurrent copies of one MsgId (turns processed, distinct answers).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TOKEN, APP_ID = "spamtest", "wx2c2769f8efd9abc2"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
GH = "gh_10f6c3c3ac5a"
FIXED = (
    "<xml><ToUserName><![CDATA[u]]></ToUserName><FromUserName><![CDATA[gh]]></FromUserName>"
    "<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ok]]></Content></xml>"
)


class FaqHandler:
    """FAQ-like: keyword answer, dialogue state (turn count) in Redis."""

    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self.redis = client

    def handle(self, message):  # type: ignore[no-untyped-def]
        from bot.contract import BotReply

        key = "bench:state:" + message.user_id
        state = self.redis.get(key)
        turns = int(state or 0) + 1
        self.redis.set(key, turns, ex=1800)
        if "报案" in message.text:
            return [BotReply(text="报案请回复1，我们会一步一步帮您。")]
        return [BotReply(text="您好，请问有什么可以帮您？回复数字即可：1 报案 2 查进度")]


def build_webhook_app(redis_url: str, db_url: str):  # type: ignore[no-untyped-def]
    from fastapi import FastAPI

    from backend.db import make_engine, make_sessionmaker
    from backend.model_registry import metadata
    from backend.products.service import load_catalog
    from backend.redis_conn import RedisHandle
    from backend.runtime import Runtime
    from backend.security.crypto import FieldCipher
    from bot.settings import WechatSettings
    from bot.startup import build_context
    from bot.webhook import router
    from config.settings import CONFIG_DIR, Settings

    engine = make_engine(db_url)
    metadata.create_all(engine)
    handle = RedisHandle(url=redis_url)
    settings = Settings(mode="local")
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        redis_handle=handle,
        redis=handle.sync_client(),
        cipher=FieldCipher.from_config(
            keys_json=settings.crypto.keys.get_secret_value(),
            active_key_id=settings.crypto.active_key_id,
            blind_index_key=settings.crypto.blind_index_key.get_secret_value(),
        ),
        catalog=load_catalog(products_dir=CONFIG_DIR / "products", default_id="chaonan-elderly-accident"),
    )
    wx = WechatSettings(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY, mode="safe", original_id=GH)
    runtime.extras["wechat"] = build_context(runtime, wx)
    runtime.extras["turn_handler"] = FaqHandler(runtime.redis)
    app = FastAPI()
    app.include_router(router)
    app.state.runtime = runtime
    return app, runtime


def serve(kind: str, port: int, redis_url: str, db_url: str) -> None:
    import uvicorn
    from fastapi import FastAPI, Response

    if kind == "bare":
        app = FastAPI()

        @app.post("/wechat")
        async def bare() -> Response:
            return Response(FIXED, media_type="application/xml")
    else:
        app, _rt = build_webhook_app(redis_url, db_url)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, workers=1)


def make_requests(n: int, *, same_msg_id: bool = False) -> list[bytes]:
    from bot.crypto import MessageCrypto, sha1_signature

    crypto = MessageCrypto(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY)
    out = []
    fixed_id = uuid.uuid4().int % 10**18
    run = uuid.uuid4().hex[:6]
    for i in range(n):
        ts, nonce = str(int(time.time())), f"n{i}"
        msg_id = fixed_id if same_msg_id else uuid.uuid4().int % 10**18
        user = f"oCopy{run}" if same_msg_id else f"oBench{run}{i % 500}"
        inner = (
            f"<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
            f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[我要报案]]></Content><MsgId>{msg_id}</MsgId></xml>"
        )
        enc = crypto.encrypt(inner)
        body = f"<xml><ToUserName>{GH}</ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode()
        q = (
            f"timestamp={ts}&nonce={nonce}&signature={sha1_signature(TOKEN, ts, nonce)}&openid=o"
            f"&encrypt_type=aes&msg_signature={sha1_signature(TOKEN, ts, nonce, enc)}"
        )
        out.append(
            f"POST /wechat?{q} HTTP/1.1\r\nHost: b\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    return out


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes) -> bytes:
    writer.write(req)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head.split(b" ")[1] + b" " + await reader.readexactly(length)


async def load(port: int, reqs: list[bytes], concurrency: int, rate: float | None) -> dict[str, object]:
    queue = list(reversed(reqs))
    lat: list[float] = []
    answers: list[bytes] = []
    start = time.perf_counter()

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            req = queue.pop()
            n = len(reqs) - len(queue) - 1
            if rate:
                due = start + n / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                t0 = max(due, time.perf_counter()) if delay > 0 else due  # latency from the scheduled time
            else:
                t0 = time.perf_counter()
            answers.append(await _one(reader, writer, req))
            lat.append(time.perf_counter() - t0)
        writer.close()

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - start
    lat.sort()
    return {
        "n": len(lat),
        "rps": len(lat) / elapsed,
        "p50_ms": lat[len(lat) // 2] * 1000,
        "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000,
        "status": sorted({a.split(b" ")[0].decode() for a in answers}),
        "answers": answers,
    }


def _check_copies(answers: list[bytes], redis_url: str) -> dict[str, object]:
    import redis as redis_lib

    from bot.crypto import MessageCrypto
    from bot.inbound import parse_xml

    crypto = MessageCrypto(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY)
    inner = set()
    for a in answers:
        outer = parse_xml(a.split(b" ", 1)[1])
        inner.add(crypto.decrypt(outer["Encrypt"])[0])
    client = redis_lib.Redis.from_url(redis_url)
    turns = [int(client.get(k) or 0) for k in client.keys("bench:state:oCopy*") if client.get(k)]
    return {
        "distinct_decrypted_answers": len(inner),
        "handler_runs_for_copied_user": max(turns) if turns else 0,
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(
    port: int, pid: int, reqs: list[bytes], concurrency: int, rate: float | None, keep_answers: bool = False
) -> dict[str, object]:
    before = cpu_seconds(pid)
    result = asyncio.run(load(port, reqs, concurrency, rate))
    result["server_cpu_us_per_req"] = (cpu_seconds(pid) - before) / len(reqs) * 1e6
    answers = result.pop("answers")
    if keep_answers:
        result["answers"] = answers
    return result


def breakdown(redis_url: str, db_url: str, n: int = 300) -> dict[str, float]:
    """CPU µs per step, measured in this process on the real objects."""
    from bot.crypto import MessageCrypto
    from bot.inbound import parse_xml, to_inbound
    from bot.processing import _Job
    from bot.replies import plan_messages, render_passive

    _app, runtime = build_webhook_app(redis_url, db_url)
    ctx = runtime.extras["wechat"]
    crypto: MessageCrypto = ctx.crypto
    reqs = make_requests(n)
    steps: dict[str, float] = {}

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        t = time.process_time()
        value = fn()
        steps[name] = steps.get(name, 0.0) + time.process_time() - t
        return value

    for raw in reqs:
        head, body = raw.split(b"\r\n\r\n", 1)
        q = dict(p.split("=", 1) for p in head.split(b" ")[1].decode().split("?", 1)[1].split("&"))
        outer = timed("parse outer XML", lambda: parse_xml(body))
        timed(
            "verify msg_signature",
            lambda: crypto.check_msg_signature(
                msg_signature=q["msg_signature"],
                timestamp=q["timestamp"],
                nonce=q["nonce"],
                encrypt=outer["Encrypt"],
            ),
        )
        inner, _ = timed("AES decrypt", lambda: crypto.decrypt(outer["Encrypt"]))
        msg = timed("parse inner XML + InboundMessage", lambda: to_inbound(parse_xml(inner)))
        proc = ctx.processor
        owner = "o"
        timed("redis claim + user lock (1 round trip)", lambda: proc._acquire(msg, owner))
        replies = timed("turn handler (FAQ + Redis state, 2 round trips)", lambda: proc._run_handler(msg))
        outs = plan_messages(replies)
        xml = timed(
            "render reply (wechatpy)", lambda: render_passive(outs[0], to_user=msg.user_id, from_user=GH)
        )
        from backend.conversations import service as conv
        from backend.db import session_scope

        def persist() -> None:
            with session_scope(runtime.sessions) as s:
                row = conv.claim_inbox(
                    s,
                    cipher=runtime.cipher,
                    msg_key=msg.msg_key + "x",
                    openid=msg.user_id,
                    msg_type="text",
                    event=None,
                    content=msg.text,
                    replies={"xml": xml},
                    delivery="passive",
                )
                conv.record_turn(
                    s,
                    cipher=runtime.cipher,
                    channel="official_account",
                    user_id=msg.user_id,
                    inbox_id=row.id if row else None,
                    inbound_kind="text",
                    inbound_text=msg.text,
                    reply_texts=[outs[0].text],
                    duration_ms=1,
                )

        timed("persist inbox + turn (1 transaction)", persist)
        timed(
            "store answer + unlock (1 round trip)",
            lambda: proc._release(
                msg, owner, value="D" + runtime.cipher.encrypt(xml, purpose="r")
            ),
        )
        timed("AES encrypt reply", lambda: crypto.encrypt_reply(xml, nonce="n", timestamp="1"))
        _Job(msg)
    ctx.processor.close()
    return {k: v / n * 1e6 for k, v in steps.items()}


def main() -> None:
    from tests.support.servers import free_port, start_redis

    redis = start_redis()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-webhook-{uuid.uuid4().hex[:6]}.sqlite3"
    db_url = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{tmp}")
    n = int(os.environ.get("BENCH_N", "3000"))
    procs = []
    try:
        ports = {"bare": free_port(), "webhook": free_port()}
        for kind, port in ports.items():
            procs.append(
                subprocess.Popen([sys.executable, __file__, "serve", kind, str(port), redis.url, db_url])
            )
        time.sleep(4)
        pids = {k: p.pid for k, p in zip(ports, procs, strict=True)}
        report: dict[str, object] = {"db": db_url.split(":")[0]}
        for kind in ("bare", "webhook"):
            run_load(ports[kind], pids[kind], make_requests(300), 16, None)  # warm-up
            report[kind] = run_load(ports[kind], pids[kind], make_requests(n), 32, None)
        bare, hook = report["bare"], report["webhook"]
        report["throughput_ratio_cpu"] = bare["server_cpu_us_per_req"] / hook["server_cpu_us_per_req"]  # type: ignore[index]
        report["throughput_ratio_rps"] = hook["rps"] / bare["rps"]  # type: ignore[index]
        report["steady_500_per_s"] = run_load(
            ports["webhook"], pids["webhook"], make_requests(5000), 64, 500.0
        )
        copies = run_load(
            ports["webhook"],
            pids["webhook"],
            make_requests(64, same_msg_id=True),
            64,
            None,
            keep_answers=True,
        )
        report["copies_64"] = copies
        report["copies_64"].update(_check_copies(copies.pop("answers"), redis.url))  # type: ignore[attr-defined]
        report["cpu_breakdown_us"] = breakdown(redis.url, db_url)
        print(json.dumps(report, indent=2, ensure_ascii=False))
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        redis.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        main()
