"""The console pages' static files: the vendored Apache ECharts is served as JavaScript with a long,
immutable cache lifetime and the console's Content-Security-Policy; nothing else under vendor/ is."""

from __future__ import annotations

import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from backend.handoff.pages import STATIC, VENDOR

ECHARTS = "/console/static/vendor/echarts-6.1.0/echarts.min.js"
ECHARTS_SHA256 = "b66b25aeb4df84e33199dc21694014d336d222cbd9deb0e5a7c14bd6aa0d0fd0"  # README.md there


def test_vendored_echarts_is_served_as_javascript_cached_for_a_year(client: TestClient) -> None:
    r = client.get(ECHARTS)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    cache = r.headers["cache-control"]
    assert "immutable" in cache and "public" in cache and "no-store" not in cache
    assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= 365 * 24 * 3600  # type: ignore[union-attr]
    assert r.headers["x-content-type-options"] == "nosniff"  # so the type must be right
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-eval" not in csp
    assert hashlib.sha256(r.content).hexdigest() == ECHARTS_SHA256


def test_the_vendored_file_is_the_one_its_readme_names() -> None:
    folder = STATIC / "vendor" / "echarts-6.1.0"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert ECHARTS_SHA256 in readme
    assert hashlib.sha256((folder / "echarts.min.js").read_bytes()).hexdigest() == ECHARTS_SHA256
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert "Apache ECharts" in (folder / "NOTICE").read_text()


def test_the_dashboard_loads_the_vendored_file_and_nothing_from_elsewhere(client: TestClient) -> None:
    page = client.get("/console/dashboard").text
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert ECHARTS in scripts
    assert all(s.startswith("/console/static/") for s in scripts)  # no CDN
    assert "<script>" not in page  # no inline script
    for src in scripts:
        assert client.get(src).status_code == 200, src


@pytest.mark.parametrize("path", ["echarts-6.1.0/LICENSE", "echarts-6.1.0/README.md", "echarts-6.1.0/",
                                  "echarts-6.1.0/../../pages.py", "echarts-6.0.0/echarts.min.js"])
def test_only_the_listed_vendored_files_are_served(client: TestClient, path: str) -> None:
    assert client.get("/console/static/vendor/" + path).status_code == 404


def test_our_own_files_are_revalidated_on_every_load(client: TestClient) -> None:
    r = client.get("/console/static/dashboard.js")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"


def test_every_listed_vendored_file_exists_in_a_versioned_folder_with_its_licence() -> None:
    for path in VENDOR:
        folder, _name = path.split("/", 1)
        assert re.fullmatch(r"[a-z0-9-]+-\d+\.\d+\.\d+", folder), folder
        assert (STATIC / "vendor" / path).is_file(), path
        for doc in ("LICENSE", "README.md"):
            assert (STATIC / "vendor" / folder / doc).is_file(), (folder, doc)
