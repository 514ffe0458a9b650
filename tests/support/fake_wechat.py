"""A local fake of the WeChat Official Account API, speaking its JSON wire format over real HTTP.

It checks access tokens (a refresh invalidates the old token after an overlap, like the real one),
counts a daily quota per API (45009), enforces the 48-hour customer-service window per openid (45015
unless the user wrote recently: call :meth:`FakeWechat.user_wrote`) and its count (45047 after 5
messages), and injects faults (an errcode, a timeout, truncated JSON, an HTTP 500) with
:meth:`FakeWechat.inject`.

Template messages: 43004 to a user who does not follow (``unfollowed``), 43101 for a template the
user refused (``refused``); one message per ``(openid, client_msg_id)`` within 10 minutes (a repeat
answers the first msgid and sends nothing: ``template_repeats``); values longer than their typed
key allows are cut with "…" and first/remark lines dropped, as the real platform does.
Mini-program subscribe messages need an acceptance per send (``accept``), else 43101; a value
breaking its type is refused (47003). Media: ``media`` (bytes by media id; an unknown id is 40007);
``media/upload`` (``tests.support.fake_wechat_media``: a real image by its first bytes, else 40005)
records ``uploads``; an ``image`` customer-service message needs a known media_id (else 40007), and
:meth:`FakeWechat.images_sent` gives the bytes each user received.
:func:`template_receipt_xml` builds the TEMPLATESENDJOBFINISH push for a sent message.

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

from tests.support import fake_wechat_media

WINDOW_S = 48 * 3600
CS_PER_WINDOW = 5  # customer-service messages per user message (since 2023-06)
DEDUP_S = 600  # client_msg_id de-duplication window
TYPE_LIMITS = {"thing": 20, "character_string": 32, "phrase": 5, "time": 25, "date": 25, "number": 32,
               "name": 10, "amount": 11, "phone_number": 17, "letter": 32, "symbol": 5, "car_number": 8,
               "const": 20}


def template_receipt_xml(*, msgid: str | int, openid: str, status: str = "success",
                         to: str = "gh_fake0000001", create_time: int | None = None) -> str:
    """The TEMPLATESENDJOBFINISH event WeChat pushes after a template message."""
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{msgid}</MsgID>"
            f"<Status><![CDATA[{status}]]></Status></xml>")


def _value_type(key: str) -> str:
    return key.rstrip("0123456789")
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
    cs_limit: int | None = CS_PER_WINDOW  # None: no count rule (load tests of other things)
    code_ttl_s: float = 300.0
    login_limit_per_min: int = 100

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}  # token → valid until
        self.current: str | None = None
        self.token_fetches = 0
        self.calls: dict[str, int] = {}
        self.sent: list[dict[str, Any]] = []
        self.uploads: list[dict[str, Any]] = []  # temporary media uploaded (type, media_id, bytes)
        self.templates: list[dict[str, Any]] = []
        self.menus: list[dict[str, Any]] = []
        self.last_wrote: dict[str, float] = {}
        self.cs_count: dict[str, int] = {}
        self.unfollowed: set[str] = set()
        self.refused: set[tuple[str, str]] = set()  # (openid, template_id)
        self.acceptances: dict[tuple[str, str], int] = {}  # (openid, template_id) → sends left
        self.subscribes: list[dict[str, Any]] = []
        self.client_msg_ids: dict[tuple[str, str], tuple[int, float]] = {}
        self.template_repeats = 0
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
            self.cs_count[openid] = 0

    def images_sent(self, openid: str) -> list[bytes]:
        """The bytes of every picture sent to this user as a customer-service image message."""
        with self.lock:
            return [self.media[b["image"]["media_id"]] for b in self.sent
                    if b.get("touser") == openid and b.get("msgtype") == "image"]

    def accept(self, openid: str, template_id: str, times: int = 1) -> None:
        """The user accepted a mini-program subscribe template ``times`` times."""
        with self.lock:
            key = (openid, template_id)
            self.acceptances[key] = self.acceptances.get(key, 0) + times

    def delivered(self) -> dict[str, int]:
        """Template messages sent per client_msg_id (or per msgid when none was given)."""
        with self.lock:
            out: dict[str, int] = {}
            for body in self.templates:
                key = str(body.get("client_msg_id") or body.get("_msgid"))
                out[key] = out.get(key, 0) + 1
            return out

    def inject(self, fault: Any, path: str = "*", times: int = 1) -> None:
        """The next call(s) to ``path`` fail: an errcode int, "timeout" (nothing done, no answer),
        "late" (done, the answer too late), "truncated" or "http500"."""
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
            disable_nagle_algorithm = True  # headers and body go out as separate writes

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
        if getattr(h, "late", False):  # the call was carried out; its answer comes too late
            time.sleep(self.timeout_sleep_s)
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
        try:
            raw = h.rfile.read(length) if length else b""
        except OSError:
            raw = b""
        if len(raw) < length:  # the client died before its body arrived (SIGKILL mid-send): nothing done
            h.close_connection = True
            return
        if path == "/_fake/stats":  # for benchmarks running the fake in another process
            with self.lock:
                stats = {"templates": len(self.templates), "repeats": self.template_repeats,
                         "distinct": len({str(t.get("client_msg_id")) for t in self.templates})}
            self._reply(h, stats)
            return
        with self.lock:
            self.requests.append(path)
        fault = self._take_fault(path)
        if fault == "timeout":
            time.sleep(self.timeout_sleep_s)
            self._reply(h, {"errcode": 0, "errmsg": "ok"})
            return
        if fault == "late":
            h.late = True  # type: ignore[attr-defined]
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
        if path == "/cgi-bin/media/upload":
            with self.lock:
                answer = fake_wechat_media.upload(self.media, self.uploads, query, raw,
                                                  h.headers.get("Content-Type", ""))
            self._reply(h, answer)
            return
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._reply(h, {"errcode": 47001, "errmsg": "data format error"})
            return
        if path == "/cgi-bin/message/custom/send":
            openid = body.get("touser", "")
            with self.lock:
                wrote = self.last_wrote.get(openid)
                count = self.cs_count.get(openid, 0)
            if wrote is None or time.time() - wrote > WINDOW_S:
                self._reply(h, {"errcode": 45015, "errmsg": "response out of time limit"})
                return
            if self.cs_limit is not None and count >= self.cs_limit:
                self._reply(h, {"errcode": 45047, "errmsg": "out of response count limit"})
                return
            if body.get("msgtype") == "image" and (body.get("image") or {}).get("media_id") not in self.media:
                self._reply(h, {"errcode": 40007, "errmsg": "invalid media_id"})
                return
            with self.lock:
                self.sent.append(body)
                self.cs_count[openid] = count + 1
            self._reply(h, {"errcode": 0, "errmsg": "ok"})
            return
        if path == "/cgi-bin/message/template/send":
            self._template(h, body)
            return
        if path == "/cgi-bin/message/subscribe/send":
            self._subscribe(h, body)
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
            ctype = ("image/png" if content.startswith(b"\x89PNG") else "application/pdf"
                     if content.startswith(b"%PDF") else "audio/amr" if content.startswith(b"#!AMR")
                     else "image/jpeg")
            self._reply(h, None, raw=content, content_type=ctype)
            return
        self._reply(h, {"errcode": 48001, "errmsg": "api unauthorized"})

    def _template(self, h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        openid, template_id = str(body.get("touser", "")), str(body.get("template_id", ""))
        if not openid:
            self._reply(h, {"errcode": 40003, "errmsg": "invalid openid"})
            return
        if openid in self.unfollowed:
            self._reply(h, {"errcode": 43004, "errmsg": "require subscribe"})
            return
        if (openid, template_id) in self.refused:
            self._reply(h, {"errcode": 43101, "errmsg": "user refuse to accept the msg"})
            return
        client_id = str(body.get("client_msg_id") or "")
        now = time.time()
        with self.lock:
            seen = self.client_msg_ids.get((openid, client_id)) if client_id else None
            if seen is not None and now - seen[1] < DEDUP_S:
                self.template_repeats += 1
                msgid = seen[0]
            else:
                data = {k: {"value": self._cut(k, str(v.get("value", "")))}
                        for k, v in (body.get("data") or {}).items() if k not in ("first", "remark")}
                msgid = 200000000 + len(self.templates) + 1
                self.templates.append({**body, "data": data, "_msgid": msgid})
                if client_id:
                    self.client_msg_ids[(openid, client_id)] = (msgid, now)
        self._reply(h, {"errcode": 0, "errmsg": "ok", "msgid": msgid})

    @staticmethod
    def _cut(key: str, value: str) -> str:
        limit = TYPE_LIMITS.get(_value_type(key))
        value = value.replace("\n", "")
        return value if limit is None or len(value) <= limit else value[: limit - 1] + "…"

    def _subscribe(self, h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        openid, template_id = str(body.get("touser", "")), str(body.get("template_id", ""))
        for key, item in (body.get("data") or {}).items():
            value = str(item.get("value", ""))
            limit = TYPE_LIMITS.get(_value_type(key))
            if limit is None or len(value) > limit or "\n" in value:
                self._reply(h, {"errcode": 47003, "errmsg": f"argument invalid! data.{key}.value invalid"})
                return
        with self.lock:
            left = self.acceptances.get((openid, template_id), 0)
            if left > 0:
                self.acceptances[(openid, template_id)] = left - 1
                self.subscribes.append(body)
        if left <= 0:
            self._reply(h, {"errcode": 43101, "errmsg": "user refuse to accept the msg"})
            return
        self._reply(h, {"errcode": 0, "errmsg": "ok"})


def main() -> None:
    """``python -m tests.support.fake_wechat``: a fake on its own (prints its URL), for benchmarks."""
    import sys

    fake = FakeWechat(cs_limit=None).start()
    print(fake.url, flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
