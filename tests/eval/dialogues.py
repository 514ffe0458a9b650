"""Dialogue-level evaluation: written conversations played through the real webhook, outcomes scored.

``python -m tests.eval.dialogues [--set dev|test|FILE] [--only ID] [--show]`` starts the service
in-process on embedded defaults (SQLite and Redis in a temporary folder) with a fake WeChat API,
sends every customer turn as WeChat would (signed, AES-encrypted pushes), collects the passive replies
and the customer-service messages, then checks what the database holds against each conversation's
``expect`` (``tests/eval/scoring.py``). The test half prints only its score unless ``--show``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EVAL_DIR = Path(__file__).resolve().parent / "data"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
GH_ID = "gh_evaluation"


@dataclass
class Conversation:
    id: str
    turns: list[Any]
    expect: dict[str, Any]
    now: dt.datetime
    who: str = ""
    notes: str = ""


@dataclass
class Result:
    conversation: Conversation
    transcript: list[tuple[Any, list[str]]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def load(path: Path) -> list[Conversation]:
    """The conversations of one YAML file."""
    out = []
    for raw in yaml.safe_load(path.read_text(encoding="utf-8")):
        now = dt.datetime.fromisoformat(str(raw.get("now") or "2026-12-03T10:00:00+08:00"))
        out.append(Conversation(id=str(raw["id"]), turns=list(raw["turns"]), expect=raw.get("expect") or {},
                                now=now, who=str(raw.get("who", "")), notes=str(raw.get("notes", ""))))
    return out


def _drain(pool: ThreadPoolExecutor) -> None:
    """Return once every task submitted to *pool* before the call has finished: one task per worker,
    all waiting for each other, can only run together once the tasks queued before them are done."""
    workers = pool._max_workers
    barrier = threading.Barrier(workers)
    for future in [pool.submit(barrier.wait, 10.0) for _ in range(workers)]:
        future.result(timeout=15.0)


class Service:
    """The app on embedded defaults with a fake WeChat API, driven like WeChat drives it."""

    def __init__(self, var_dir: Path) -> None:
        from fastapi.testclient import TestClient

        from backend.app import create_app
        from config.settings import Settings, WechatSettings
        from tests.eval.wire import Peer
        from tests.support.fake_wechat import FakeWechat

        self.fake = FakeWechat().start()
        wechat = WechatSettings(token="eval-token", app_id=self.fake.app_id, app_secret=self.fake.app_secret,
                                encoding_aes_key=AES_KEY, mode="safe", original_id=GH_ID,
                                api_base_url=self.fake.url)
        settings = Settings(mode="local", var_dir=var_dir, run_worker=False, wechat=wechat)
        self.app = create_app(settings)
        self.client = TestClient(self.app)
        self.client.__enter__()
        self.peer = Peer(token="eval-token", app_id=self.fake.app_id, aes_key=AES_KEY, to_user=GH_ID)

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.fake.stop()

    def _sent_to(self, openid: str) -> list[dict[str, Any]]:
        with self.fake.lock:
            return [m for m in self.fake.sent if m.get("touser") == openid]

    def say(self, openid: str, turn: Any, at: dt.datetime) -> list[str]:
        """Send one customer turn; the texts the customer receives for it."""
        from tests.eval.wire import inner_xml

        self.fake.user_wrote(openid)
        before = len(self._sent_to(openid))
        inner = inner_xml(turn, openid=openid, to_user=GH_ID, create_time=int(at.timestamp()))
        params, body = self.peer.request(inner)
        response = self.client.post("/wechat", params=params, content=body)
        if response.status_code != 200:
            return [f"[HTTP {response.status_code}]"]
        texts = self.peer.passive_texts(response.content)
        # Further messages go through the customer-service API, from the webhook's thread pools:
        # wait until both pools have finished everything this turn gave them.
        processor = self.app.state.runtime.wechat.processor
        for _ in range(2):  # a turn finished late hands its messages to the sending pool
            _drain(processor.executor)
            _drain(processor.delivery.pool)
        for message in self._sent_to(openid)[before:]:
            if message.get("msgtype") == "text":
                texts.append(str(message.get("text", {}).get("content", "")))
            elif message.get("msgtype") == "news":
                texts.append("\n".join(f"{a.get('title', '')} {a.get('description', '')}"
                                       for a in message.get("news", {}).get("articles", [])))
        return texts

    def records(self, openid: str) -> Any:
        from tests.eval.records import read_records

        runtime = self.app.state.runtime
        with runtime.sessions() as session:
            return read_records(session, runtime.cipher, channel="official_account", user_id=openid)


def run(conversations: list[Conversation], service: Service) -> list[Result]:
    """Play and score every conversation."""
    from tests.eval.scoring import check

    results = []
    for index, conv in enumerate(conversations):
        openid = f"oEval{index:04d}{conv.id}".ljust(28, "x")[:28]
        result = Result(conv)
        for n, turn in enumerate(conv.turns):
            at = conv.now + dt.timedelta(seconds=45 * n)
            result.transcript.append((turn, service.say(openid, turn, at)))
        replies = [text for _, texts in result.transcript for text in texts]
        result.failures = check(conv.expect, replies, service.records(openid))
        results.append(result)
    return results


def _show(result: Result) -> str:
    lines = [f"── {result.conversation.id} {'PASS' if result.passed else 'FAIL'}  {result.conversation.who}"]
    for turn, texts in result.transcript:
        lines.append(f"  客户: {turn}")
        lines.extend(f"  机器人: {t}".replace("\n", "\n         ") for t in texts)
    lines.extend(f"  ✗ {f}" for f in result.failures)
    if result.conversation.notes:
        lines.append(f"  (期望: {result.conversation.notes.strip()})")
    return "\n".join(lines)


def summary(results: list[Result]) -> str:
    """Score overall and by expected outcome."""
    total, passed = Counter(), Counter()
    for r in results:
        kind = r.conversation.expect.get("outcome", "answer")
        total[kind] += 1
        passed[kind] += r.passed
    ok = sum(passed.values())
    parts = ", ".join(f"{k} {passed[k]}/{total[k]}" for k in sorted(total))
    share = ok / max(1, len(results))
    return f"{ok}/{len(results)} conversations reached their expected outcome ({share:.0%}): {parts}"


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m tests.eval.dialogues")
    parser.add_argument("--set", default="dev", help="dev, test or a YAML file")
    parser.add_argument("--only", action="append", default=[], help="conversation id(s)")
    parser.add_argument("--show", action="store_true",
                        help="print transcripts (of failures, or all with --all)")
    parser.add_argument("--all", action="store_true", help="with --show: passed conversations too")
    args = parser.parse_args(argv)
    path = Path(args.set) if args.set not in ("dev", "test") else EVAL_DIR / f"dialogues-{args.set}.yaml"
    conversations = [c for c in load(path) if not args.only or c.id in args.only]
    show = args.show or (args.set == "dev")
    with tempfile.TemporaryDirectory(prefix="cs-eval-") as tmp:
        service = Service(Path(tmp) / "var")
        try:
            results = run(conversations, service)
        finally:
            service.close()
    if show:
        for r in results:
            if args.all or not r.passed:
                print(_show(r) + "\n")
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
