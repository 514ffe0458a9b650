"""The Dockerfile and docker-compose.yml are accepted by their tools' rules."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_docker_compose_config_is_valid() -> None:
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is installed by `make test` (system-deps)"
    env = dict(os.environ, POSTGRES_PASSWORD="p", REDIS_PASSWORD="r", CS_CRYPTO__KEYS="{}",
               CS_CRYPTO__ACTIVE_KEY_ID="k", CS_CRYPTO__BLIND_INDEX_KEY="b", CS_AUTH__SESSION_SECRET="s",
               CS_AUDIT__CHAIN_KEY="a" * 32)
    out = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config"], env=env,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    for service in ("api:", "worker:", "postgres:", "redis:"):
        assert service in out.stdout
    worker = out.stdout.split("  worker:", 1)[1].split("\n  postgres:", 1)[0]
    assert "replicas: 2" in worker  # two job workers


def test_docker_compose_refuses_missing_secrets() -> None:
    exe = shutil.which("docker-compose")
    assert exe
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CS_", "POSTGRES", "REDIS"))}
    out = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config"], env=env,
                         capture_output=True, text=True, check=False)
    assert out.returncode != 0


def test_dockerfile_runs_as_non_root_single_image() -> None:
    text = (ROOT / "Dockerfile").read_text()
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert "slim" in text.splitlines()[text.splitlines().index(next(
        line for line in text.splitlines() if line.startswith("FROM python")))]
