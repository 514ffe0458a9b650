"""A local fake of the WeChat Official Account API, speaking its JSON wire format over real HTTP.

It checks access tokens (a refresh invalidates the old token after an overlap, like the real one),
counts a daily quota per API (45009), enforces the 48-hour customer-service window per openid (45015
unless the user wrote recently: call :meth:`FakeWechat.user_wrote`), and injects faults (an errcode,
a timeout, truncated JSON, an HTTP 500) with :meth:`FakeWechat.inject`.

Mini-program APIs: ``sns/jscode2session`` (codes from :meth:`FakeWechat.issue_login_code`: single use,
valid 5 minutes, else 40029; more than ``login_limit_per_min`` calls for one user in a minute → 45011;
``inject(-1, "/sns/jscode2session")`` → busy) and ``wxa/business/getuserphonenumber`` (codes from
:meth:`FakeWechat.issue_phone_code`, single use, 5 minutes, needs an access token).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

WINDOW_S = 48 * 3600
# The session_key every login of the test suite gets unless a test sets another: a canary that must
# never appear in a response body or a log line (catalogue M-02; checked in tests/conftest.py).
CANARY_SESSION_KEY = "Q2FuYXJ5U2Vzc2lvbktleQ=="  # base64 of the 16 bytes b"CanarySessionKey"


@dataclass
class FakeWechat:
    app_id: str = "wxfake000000000001"
    app_secret: str = "fake-secret"
    overlap_s: float = 300.0
    token_ttl_s: int = 7200
    quotas: dict[str, int] = field(default_factory=dict)  # path → calls allowed today
    media: dict[str, bytes] = field(default_factory=dict)
    timeout_sleep_s: float = 2.0
    code_ttl_s: float = 300.0
    login_limit_per_min: int = 100

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}  # token → valid until
        self.current: str | None = None
        self.token_fetches = 0
        self.calls: dict[str, int] = {}
        self.sent: list[dict[str, Any]] = []
        self.templates: list[dict[str, Any]] = []
        self.menus: list[dict[str, Any]] = []
        self.last_wrote: dict[str, float] = {}
        self.faults: list[tuple[str, Any]] = []  # (path or "*", fault)
        self.requests: list[str] = []
        self.login_codes: dict[str, dict[str, Any]] = {}  # code → openid, session_key, unionid, issued
        self.phone_codes: dict[str, dict[str, Any]] = {}  # code → phone, issued
        self.login_calls: dict[str, list[float]] = {}  # openid → call times
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- admin ----------------------------------------------------------------------------------
    def user_wrote(self, openid: str, at: float | None = None) -> None:
        """The user sent us a message (opens their 48-hour window)."""
        with self.lock:
            self.last_wrote[openid] = time.time() if at is None else at

    def inject(self, fault: Any, path: str = "*", times: int = 1) -> None:
        """The next call(s) to ``path`` fail: an errcode int, "timeout", "truncated" or "http500"."""
        with self.lock:
            self.faults.extend([(path, fault)] * times)

    def issue_login_code(self, openid: str, *, session_key: str | None = None, unionid: str | None = None,
                         at: float | None = None) -> str:
        """A ``wx.login`` code for this user (what the mini-program would send us)."""
        code = "0" + secrets.token_hex(15)
        with self.lock:
            self.login_codes[code] = {
                "openid": openid, "unionid": unionid, "used": False,
                "session_key": session_key or CANARY_SESSION_KEY,
                "issued": time.time() if at is None else at,
            }
        return code

    def issue_phone_code(self, phone: str, *, at: float | None = None) -> str:
        """A ``getPhoneNumber`` button code for this phone number."""
        code = "p" + secrets.token_hex(15)
        with self.lock:
            self.phone_codes[code] = {"phone": phone, "used": False,
                                      "issued": time.time() if at is None else at}
        return code

    def _take_code(self, table: dict[str, dict[str, Any]], code: str) -> dict[str, Any] | None:
        with self.lock:
            entry = table.get(code)
            if entry is None or entry["used"] or time.time() - entry["issued"] > self.code_ttl_s:
                return None
            entry["used"] = True
            return entry

    def _jscode2session(self, h: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("appid") != self.app_id or query.get("secret") != self.app_secret:
            self._reply(h, {"errcode": 40125, "errmsg": "invalid appsecret"})
            return
        code = query.get("js_code", "")
        with self.lock:
            entry = self.login_codes.get(code)
            openid = entry["openid"] if entry else None
            if openid is not None:
                now = time.time()
                recent = [t for t in self.login_calls.get(openid, []) if now - t < 60] + [now]
                self.login_calls[openid] = recent
                if len(recent) > self.login_limit_per_min:
                    self._reply(h, {"errcode": 45011, "errmsg": "api minute-quota reach limit"})
                    return
        taken = self._take_code(self.login_codes, code)
        if taken is None:
            self._reply(h, {"errcode": 40029, "errmsg": "invalid code"})
            return
        answer = {"openid": taken["openid"], "session_key": taken["session_key"]}
        if taken["unionid"]:
            answer["unionid"] = taken["unionid"]
        self._reply(h, answer)

    def expire_all_tokens(self) -> None:
        """Every issued token is now invalid (42001 on use)."""
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = 0.0

    # -- server ---------------------------------------------------------------------------------
    def start(self) -> FakeWechat:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- protocol -------------------------------------------------------------------------------
    def _reply(
        self,
        h: BaseHTTPRequestHandler,
        payload: Any,
        *,
        status: int = 200,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> None:
        body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except OSError:  # the client gave up (timeout tests)
            pass

    def _take_fault(self, path: str) -> Any:
        with self.lock:
            token_path = path in ("/cgi-bin/stable_token", "/cgi-bin/token")
            for i, (p, fault) in enumerate(self.faults):
                if p == path or (p == "*" and not token_path):
                    del self.faults[i]
                    return fault
        return None

    def _issue_token(self, *, force: bool) -> str:
        with self.lock:
            now = time.time()
            if not force and self.current and self.tokens.get(self.current, 0) > now:
                return self.current
            if self.current and self.current in self.tokens:
                self.tokens[self.current] = min(self.tokens[self.current], now + self.overlap_s)
            token = "TOKEN-" + secrets.token_hex(12)
            self.tokens[token] = now + self.token_ttl_s
            self.current = token
            self.token_fetches += 1
            return token

    def _token_error(self, token: str | None) -> dict[str, Any] | None:
        with self.lock:
            if not token or token not in self.tokens:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            if self.tokens[token] <= time.time():
                return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(h.path)
        path = parsed.path
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append(path)
        fault = self._take_fault(path)
        if fault == "timeout":
            time.sleep(self.timeout_sleep_s)
            self._reply(h, {"errcode": 0, "errmsg": "ok"})
            return
        if fault == "truncated":
            self._reply(h, None, raw=b'{"errcode":0,"errm')
            return
        if fault == "http500":
            self._reply(h, None, status=500, raw=b"<html>busy</html>", content_type="text/html")
            return
        if path == "/sns/jscode2session":
            if isinstance(fault, int):
                self._reply(h, {"errcode": fault, "errmsg": "injected"})
            else:
                self._jscode2session(h, query)
            return
        if path in ("/cgi-bin/stable_token", "/cgi-bin/token"):
            data = json.loads(raw or b"{}") if method == "POST" else query
            if data.get("appid") != self.app_id or data.get("secret") != self.app_secret:
                self._reply(h, {"errcode": 40125, "errmsg": "invalid appsecret"})
                return
            force = path == "/cgi-bin/token" or bool(data.get("force_refresh"))
            token = self._issue_token(force=force)
            self._reply(h, {"access_token": token, "expires_in": self.token_ttl_s})
            return
        if isinstance(fault, int):
            self._reply(h, {"errcode": fault, "errmsg": "injected"})
            return
        error = self._token_error(query.get("access_token"))
        if error:
            self._reply(h, error)
            return
        with self.lock:
            self.calls[path] = self.calls.get(path, 0) + 1
            quota = self.quotas.get(path)
            over = quota is not None and self.calls[path] > quota
        if over:
            self._reply(h, {"errcode": 45009, "errmsg": "reach max api daily quota limit"})
            return
        body = json.loads(raw or b"{}") if raw else {}
        if path == "/cgi-bin/message/custom/send":
            openid = body.get("touser", "")
            with self.lock:
                wrote = self.last_wrote.get(openid)
            if wrote is None or time.time() - wrote > WINDOW_S:
                self._reply(h, {"errcode": 45015, "errmsg": "response out of time limit"})
                return
            with self.lock:
                self.sent.append(body)
            self._reply(h, {"errcode": 0, "errmsg": "ok"})
            return
        if path == "/cgi-bin/message/template/send":
            with self.lock:
                self.templates.append(body)
                msgid = 200000000 + len(self.templates)
            self._reply(h, {"errcode": 0, "errmsg": "ok", "msgid": msgid})
            return
        if path == "/cgi-bin/menu/create":
            if not isinstance(body.get("button"), list) or not 1 <= len(body["button"]) <= 3:
                self._reply(h, {"errcode": 40016, "errmsg": "invalid button size"})
                return
            with self.lock:
                self.menus.append(body)
            self._reply(h, {"errcode": 0, "errmsg": "ok"})
            return
        if path == "/wxa/business/getuserphonenumber":
            entry = self._take_code(self.phone_codes, str(body.get("code", "")))
            if entry is None:
                self._reply(h, {"errcode": 40029, "errmsg": "invalid code"})
                return
            self._reply(h, {"errcode": 0, "errmsg": "ok", "phone_info": {
                "phoneNumber": entry["phone"], "purePhoneNumber": entry["phone"], "countryCode": "86",
                "watermark": {"timestamp": int(time.time()), "appid": self.app_id}}})
            return
        if path == "/cgi-bin/media/get":
            content = self.media.get(query.get("media_id", ""))
            if content is None:
                self._reply(h, {"errcode": 40007, "errmsg": "invalid media_id"})
                return
            self._reply(h, None, raw=content, content_type="image/jpeg")
            return
        self._reply(h, {"errcode": 48001, "errmsg": "api unauthorized"})
