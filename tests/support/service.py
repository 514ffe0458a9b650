"""The service as a real process (``python -m backend serve``) on embedded defaults in a temporary folder,
and a customer chatting with it through ``python -m bot simulate`` (the real WeChat protocol)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from backend.db import STRICT_LOOP_ENV
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def clean_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """This machine's environment without any service setting, plus ``CS_VAR_DIR`` and *extra*."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CS_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env["CS_VAR_DIR"] = str(var_dir)
    env[STRICT_LOOP_ENV] = "1"  # a SQLite write lock taken in the event loop fails loudly (backend.db)
    env.update(extra)
    return env


@dataclass
class ServiceProcess:
    """A running ``python -m backend serve``."""

    base: str
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log_path: Path
    _log: object = field(default=None, repr=False)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def ready_status(self) -> int:
        """The status of /readyz, 0 when the service does not answer."""
        try:
            return httpx.get(self.base + "/readyz", timeout=2).status_code
        except httpx.HTTPError:
            return 0

    def wait_ready(self, timeout_s: float = 60.0) -> float:
        """Seconds until /readyz answers 200; fails the test when it does not in time."""
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited: {self.log_text()[-3000:]}")
            if self.ready_status() == 200:
                return time.monotonic() - start
            time.sleep(0.1)
        raise AssertionError(f"service not ready after {timeout_s} s: {self.log_text()[-3000:]}")

    def redis_server_children(self) -> list[psutil.Process]:
        """The redis-server processes this service started (its children)."""
        return [p for p in psutil.Process(self.proc.pid).children(recursive=True)
                if "redis-server" in p.name()]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]


def start_service(tmp_path: Path, env: dict[str, str]) -> ServiceProcess:
    """Start the service on a free port and wait until it is ready."""
    port = free_port()
    log_path = tmp_path / "service.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "backend", "serve", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    service = ServiceProcess(base=f"http://127.0.0.1:{port}", env=env, proc=proc, log_path=log_path, _log=log)
    try:
        service.wait_ready()
    except BaseException:
        service.stop()
        raise
    return service


def simulate(base: str, env: dict[str, str], lines: list[str], *, openid: str) -> str:
    """What ``python -m bot simulate`` prints for *lines* sent by *openid*."""
    stdin = "".join(line + "\n" for line in lines)
    out = subprocess.run([sys.executable, "-m", "bot", "simulate", "--url", base + "/wechat",
                          "--openid", openid], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def admin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m backend ARGS`` with the service's settings."""
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)
