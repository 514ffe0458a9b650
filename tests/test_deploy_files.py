"""Dockerfile and docker-compose.yml pass their tools' rules; a wheel carries every data file."""

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


def test_every_file_the_service_reads_is_in_the_wheel() -> None:
    """Besides its code, the service reads YAML, the NLU model, page files, vendored libraries and the
    migration template: each must match ``[tool.setuptools.package-data]``, or a wheel runs without it."""
    import tomllib

    setup = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    roots = [p.rstrip("*") for p in setup["packages"]["find"]["include"]]
    shipped: set[Path] = set()
    for package, patterns in setup["package-data"].items():
        base = ROOT / package.replace(".", "/")
        for pattern in patterns:
            shipped.update(p for p in base.glob(pattern) if p.is_file())
    needed = {p for root in roots for p in (ROOT / root).rglob("*")
              if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts}
    assert needed, "no data files found: the check would prove nothing"
    assert sorted(str(p.relative_to(ROOT)) for p in needed - shipped) == []
