"""End to end: the service started by its own run command (embedded SQLite + Redis) answers a customer
who chats through `python -m bot simulate` over the real WeChat protocol in safe (AES) mode."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CS_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({
        "CS_VAR_DIR": str(tmp_path / "var"),
        "CS_WECHAT__TOKEN": "e2e-token",
        "CS_WECHAT__APP_ID": "wx2c2769f8efd9abc2",
        "CS_WECHAT__ENCODING_AES_KEY": AES_KEY,
        "CS_WECHAT__MODE": "safe",
        "CS_WECHAT__ORIGINAL_ID": "gh_e2e",
    })
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    tmp_path = tmp_path_factory.mktemp("e2e")
    port = free_port()
    env = _env(tmp_path)
    log_path = tmp_path / "server.log"
    log_file = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"server exited: {log_path.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("server did not become ready")
        yield base, env
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log_file.close()


def test_run_command_serves_the_bot_over_the_wechat_protocol(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    ready = httpx.get(base + "/readyz").json()
    assert ready["checks"] == {"database": "ok", "redis": "ok"}
    lines = "住院一天赔多少钱\n我要报案\n取消\n"
    out = subprocess.run([sys.executable, "-m", "bot", "simulate", "--url", base + "/wechat"], cwd=ROOT,
                         env=env, input=lines, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    replies = out.stdout
    assert "30元" in replies  # the hospital allowance answer, from the product file
    assert "谁" in replies or "哪位" in replies or "老人" in replies  # the report flow's first question
    assert "取消" in replies or "不办了" in replies or "好的" in replies


def test_unsigned_push_is_refused_by_the_running_service(server: tuple[str, dict[str, str]]) -> None:
    base, _env = server
    r = httpx.post(base + "/wechat", params={"timestamp": str(int(time.time())), "nonce": "1"},
                   content=b"<xml><MsgType>text</MsgType></xml>")
    assert r.status_code == 403 and r.content == b""
