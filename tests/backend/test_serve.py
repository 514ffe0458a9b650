"""``python -m backend serve`` as a real server process (the command Docker and docker-compose run too):
its access log carries paths without query strings (WeChat puts the customer's openid and the signatures
there, D-02); X-Forwarded-For is not believed from anyone unless configured, localhost included; a 50 MB
login body is refused on its announced length, before the body is sent."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from config.settings import REPO_ROOT
from tests.support.servers import free_port

OPENID = "oQ7xY0a1b2c3d4e5f6g7h8i9j0kLm"


class Served:
    def __init__(self, port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.log = log


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CS_") and k != "FORWARDED_ALLOW_IPS"}
    env.update({"CS_VAR_DIR": str(tmp / "var"), "CS_RUN_WORKER": "false", "PYTHONUNBUFFERED": "1"})
    port = free_port()
    log = tmp / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", str(port)],
                                cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)
        yield Served(port, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _log_after(served: Served, marker: str) -> str:
    for _ in range(50):  # the log line is written after the answer: wait for it
        text = served.log.read_text(errors="replace")
        if marker in text:
            return text
        time.sleep(0.1)
    return served.log.read_text(errors="replace")


def test_d02_access_log_has_no_query_strings(served: Served) -> None:
    query = {"signature": "0" * 40, "timestamp": str(int(time.time())), "nonce": "12345", "openid": OPENID,
             "encrypt_type": "aes", "msg_signature": "f" * 40}
    pushed = httpx.post(f"{served.url}/wechat", params=query, content=b"<xml><Encrypt>x</Encrypt></xml>")
    checked = httpx.get(f"{served.url}/wechat", params={**query, "echostr": "hello"})
    assert pushed.status_code in (400, 403) and checked.status_code == 403
    text = _log_after(served, '"GET /wechat HTTP/1.1" 403')
    assert '"POST /wechat HTTP/1.1"' in text and '"GET /wechat HTTP/1.1" 403' in text
    assert OPENID not in text and "signature=" not in text and "0" * 40 not in text and "f" * 40 not in text
    assert "/wechat?" not in text


def test_a01_forwarded_for_from_localhost_is_not_believed_by_default(served: Served) -> None:
    r = httpx.post(f"{served.url}/staff/api/auth/login", headers={"X-Forwarded-For": "203.0.113.77"},
                   json={"username": "nobody", "password": "Wrong#Pass2026", "totp_code": "123456"})
    assert r.status_code == 401
    text = _log_after(served, "staff login refused")
    assert re.search(r"staff login refused: login_failed from 127\.0\.0\.1", text)
    assert "203.0.113.77" not in text


def test_a01_announced_50mb_login_body_refused_before_it_is_sent(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(b"POST /staff/api/auth/login HTTP/1.1\r\nHost: localhost\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n{")
        started = time.monotonic()
        answer = b""
        while b"http_413" not in answer and time.monotonic() - started < 5:
            chunk = sock.recv(4096)  # the answer may arrive in more than one piece
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413") and b"http_413" in answer
    assert time.monotonic() - started < 5


def test_d02_docker_runs_the_same_serve_command() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    assert '"-m", "backend", "serve"' in cmd
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["api"]["command"][:4] == ["python", "-m", "backend", "serve"]
