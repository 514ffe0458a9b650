"""Browser tests of the agent console: Playwright (pinned 1.64.1) driving Debian's
chromium-headless-shell against the real service in a subprocess (uvicorn with its job worker), a fresh
SQLite database, the suite's Redis and the fake WeChat API server.

Never ``playwright install``: the browser is Debian's (``make system-deps``). The ``chromium`` fixture
fails loudly when it is missing or older than the Chromium the pinned Playwright expects.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from backend.db import session_scope
from backend.runtime import Runtime, build_runtime
from config.settings import Settings
from tests.backend.staff.helpers import PASSWORD, code_at, make_staff
from tests.browser.serve_proc import FileClock
from tests.support.fake_wechat import FakeWechat
from tests.support.live import spawn, stop, wait_for, worker_env
from tests.support.servers import RedisServer, free_port
from tests.support.wechat_push import safe_mode_text_push

pytest.importorskip("playwright", reason="playwright==1.64.1 is a dev dependency (pip install -e '.[dev]')")
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CHROME = Path("/usr/lib/chromium/chromium-headless-shell")
TOKEN = "browser-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = FakeWechat.app_id
IN_HOURS = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Shantou


def expected_chromium_major() -> int:
    """The Chromium major version the installed Playwright driver was built for."""
    import playwright

    browsers = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    for b in json.loads(browsers.read_text())["browsers"]:
        if b["name"] == "chromium-headless-shell":
            return int(b["browserVersion"].split(".")[0])
    raise AssertionError(f"no chromium-headless-shell in {browsers}")


def debian_chromium_major() -> int | None:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "chromium-headless-shell"],
                             capture_output=True, text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return int(out.split(".")[0]) if out else None


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    # Package scope: Playwright's sync API runs an event loop in the main thread while it is open,
    # and tests after this package call asyncio.run() (it refuses while a loop runs).
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def chromium(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's headless Chromium; a loud failure (never a skip) when it is missing or too old."""
    if not CHROME.exists():
        pytest.fail(f"{CHROME} is missing: run `make system-deps` (apt-get install chromium-headless-shell "
                    "fonts-noto-cjk); never `playwright install`", pytrace=False)
    have, want = debian_chromium_major(), expected_chromium_major()
    if have is None or have < want:
        pytest.fail(f"chromium-headless-shell major {have} is older than {want}, which playwright "
                    f"expects: upgrade the apt package or pin an older playwright", pytrace=False)
    browser = playwright_driver.chromium.launch(executable_path=str(CHROME))
    yield browser
    browser.close()


@dataclass
class Live:
    """The running service and what the tests need to drive it."""

    base: str
    runtime: Runtime  # the test's own runtime on the same database and Redis (reading rows, jobs)
    wechat: FakeWechat
    redis: redis.Redis
    log: Path
    clock: FileClock  # the service's clock (the same computation as in the service process)

    def advance(self, seconds: float) -> None:
        """Move the service's clock (API and worker) ahead."""
        self.clock.path.write_text(str(self.clock.offset() + seconds))

    def staff(self, role: str) -> tuple[str, str, int]:
        """A fresh account: (username, TOTP secret, id)."""
        name = f"{role[:4]}{uuid.uuid4().hex[:6]}"
        with session_scope(self.runtime.sessions, write=True) as db:
            made = make_staff(db, self.runtime.cipher, name, role,
                              now=self.clock() - dt.timedelta(seconds=60))
            return name, made.totp_secret, made.staff.id

    def login(self, page: Page, role: str, path: str = "/console/") -> int:
        """Open ``path`` and log in through the form as a new account of ``role``; its staff id."""
        name, secret, staff_id = self.staff(role)
        page.goto(self.base + path)
        page.fill("#login-form [name=username]", name)
        page.fill("#login-form [name=password]", PASSWORD)
        page.fill("#login-form [name=totp]", code_at(secret, self.clock()))
        page.click("#login-submit")
        page.wait_for_selector("#app:not([hidden])")
        return staff_id

    def customer_says(self, openid: str, text: str) -> httpx.Response:
        """A customer's text message pushed to /wechat in safe mode, signed as WeChat signs it."""
        self.wechat.user_wrote(openid)
        params, body = safe_mode_text_push(openid, text, token=TOKEN, app_id=APP_ID, aes_key=AES_KEY,
                                           to_user="gh_browser", created=int(self.clock().timestamp()),
                                           msg_id=time.time_ns() // 1000)
        r = httpx.post(self.base + "/wechat", params=params, content=body, timeout=15)
        assert r.status_code == 200, r.text
        return r

    def sent_to(self, openid: str) -> list[dict[str, Any]]:
        """Customer-service messages the fake WeChat API received for ``openid``."""
        with self.wechat.lock:
            return [m for m in self.wechat.sent if m.get("touser") == openid]


def _ready(base: str) -> bool:
    try:
        return httpx.get(base + "/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def live(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory,
         request: pytest.FixtureRequest) -> Iterator[Live]:
    """One service process for the module (each test uses its own customers and staff); a module's
    ``LIVE_ENV`` (settings as environment variables) is added to the service's environment."""
    tmp = tmp_path_factory.mktemp("browser")
    wechat = FakeWechat(cs_limit=None).start()
    url = f"sqlite:///{tmp / 'live.sqlite3'}"
    # The service's clock starts on a working Monday at 10:00 in Shantou (inside service hours, whatever
    # the wall clock says), runs with the wall clock and jumps by an offset the tests move; the
    # webhook's messages carry its time (CreateTime), as WeChat's carry WeChat's.
    wall = time.time()
    clock = FileClock(IN_HOURS, wall, tmp / "clock-offset")
    extra = {"CS_RUN_WORKER": "true", "CS_WECHAT__TOKEN": TOKEN, "CS_WECHAT__APP_ID": APP_ID,
             "CS_WECHAT__APP_SECRET": wechat.app_secret, "CS_WECHAT__ENCODING_AES_KEY": AES_KEY,
             "CS_WECHAT__MODE": "safe", "CS_WECHAT__API_BASE_URL": wechat.url,
             "CS_JOBS__POLL_INTERVAL_S": "0.2", "BROWSER_CLOCK_START": clock.start.isoformat(),
             "BROWSER_CLOCK_WALL": str(clock.wall_start), "BROWSER_CLOCK_FILE": str(clock.path)}
    extra.update(getattr(request.module, "LIVE_ENV", {}))
    env = worker_env(database_url=url, redis_url=redis_server.url, var_dir=tmp / "var", **extra)
    settings = Settings(mode="local", var_dir=tmp / "var", run_worker=False, db={"url": url},
                        redis={"url": redis_server.url})
    runtime = build_runtime(settings)  # migrates the fresh database before the service starts
    runtime.clock = clock
    port = free_port()
    log = tmp / "serve.log"
    proc = spawn(env, "tests.browser.serve_proc", "--port", str(port), log=log)
    base = f"http://127.0.0.1:{port}"
    client = redis.Redis.from_url(redis_server.url)
    try:
        if not wait_for(lambda: proc.poll() is None and _ready(base), timeout=60):
            pytest.fail(f"service did not start:\n{log.read_text(errors='replace')[-3000:]}")
        yield Live(base=base, runtime=runtime, wechat=wechat, redis=client, log=log, clock=clock)
    finally:
        stop(proc)
        client.close()
        runtime.close()
        wechat.stop()
