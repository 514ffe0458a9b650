"""A newcomer's first minutes (issue 8 item 16): `make run` with nothing exported serves /wechat, `python -m
bot simulate` talks to it with nothing exported, and /docs works offline (no asset from a CDN)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.support.service import ServiceProcess, clean_env, simulate, start_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    tmp_path = tmp_path_factory.mktemp("first-minutes")
    svc = start_service(tmp_path, clean_env(tmp_path / "var"))  # no CS_WECHAT__* (nor any CS_*) setting
    yield svc
    svc.stop()


def test_make_run_serves_wechat_and_simulate_needs_no_settings(service: ServiceProcess) -> None:
    replies = simulate(service.base, clean_env(Path("unused")), ["住院一天赔多少钱", "我要报案", "我妈"],
                       openid="oFirstMinutesCustomer00000000")
    assert "30元" in replies  # the hospital allowance answer, from the product file
    assert "受伤的是谁" in replies and "姓名" in replies


class _Refs(HTMLParser):
    """Every URL a page makes the browser load: src, href and spec-url attributes, URLs in inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._script = tag == "script"
        self.urls += [v for k, v in attrs if k in ("src", "href", "spec-url") and v]

    def handle_data(self, data: str) -> None:
        if self._script:
            self.urls += re.findall(r"""(?:url|src|href)\s*:\s*['"]([^'"]+)['"]""", data)
            self.urls += re.findall(r"""https?://[^\s'"]+""", data)


def _refs(html: str) -> list[str]:
    parser = _Refs()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize(("page", "assets"), [
    ("/docs", {"swagger-ui-bundle.js": "SwaggerUIBundle", "swagger-ui.css": ".swagger-ui"}),
    ("/redoc", {"redoc.standalone.js": "Redoc"}),
])
def test_api_docs_load_only_local_assets(service: ServiceProcess, page: str, assets: dict[str, str]) -> None:
    r = httpx.get(service.base + page, timeout=10)
    assert r.status_code == 200
    urls = _refs(r.text)
    assert urls, r.text
    external = [u for u in urls if urlsplit(u).scheme or u.startswith("//")]
    assert not external, f"{page} loads from elsewhere: {external}"
    served = {}
    for url in urls:
        asset = httpx.get(urljoin(service.base + page, url), timeout=10)
        assert asset.status_code == 200, url
        served[url.rsplit("/", 1)[-1]] = asset.text if "image" not in asset.headers["content-type"] else ""
    for name, marker in assets.items():
        assert marker in served[name], f"{name} is not the real asset"
    assert "/openapi.json" in urls
