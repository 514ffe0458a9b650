"""A local fake of Aliyun SMS (Dysmsapi 2017-05-25, RPC style) over real HTTP.

Like the real service it checks the request signature (RPC v1: HMAC-SHA1 over the sorted,
percent-encoded parameters, key ``secret + "&"``), the timestamp (15 minutes) and that a
``SignatureNonce`` is never used twice; answers SendSms with ``{"Code": "OK", "BizId"}`` or a business
error in an HTTP 200 body (``isv.MOBILE_NUMBER_ILLEGAL``, ``isv.INVALID_JSON_PARAM``,
``isv.BUSINESS_LIMIT_CONTROL`` past the per-number daily limit…); QuerySendDetails by number and day
(with our ``OutId``); and pushes SmsReport receipts (a JSON array) to a URL, expecting
``{"code": 0}``. Faults: :meth:`inject` ("timeout", "http500", "after_send_timeout" — sent, but the
answer never comes — or an error code).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlparse

import httpx

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun's POP signature wants it."""
    return quote(value, safe="~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def rpc_signature(method: str, params: dict[str, str], secret: str) -> str:
    """The RPC v1 signature of ``params`` (everything but ``Signature``)."""
    to_sign = string_to_sign(method, params)
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class SentSms:
    phone: str
    sign_name: str
    template_code: str
    params: dict[str, Any]
    out_id: str
    biz_id: str
    at: dt.datetime
    status: int = 1  # 1 waiting for the receipt, 3 delivered, 2 failed
    err_code: str = ""


@dataclass
class FakeAliyunSms:
    access_key_id: str = "LTAIfakeKeyId0001"
    access_key_secret: str = "fake-secret-0001"
    sign_name: str = "潮南意外险"
    daily_limit: int = 50  # notices per number, signature and template per day
    timeout_sleep_s: float = 2.0
    # The time a message is recorded as sent (QuerySendDetails' day, the daily limit); a test clock.
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[SentSms] = []
        self.nonces: set[str] = set()
        self.requests: Counter[str] = Counter()
        self.rejected: list[str] = []  # codes answered
        self.faults: list[tuple[str, Any]] = []
        self.receipts_pushed = 0
        self._server: ThreadingHTTPServer | None = None
        self.endpoint = ""

    # -- admin ------------------------------------------------------------------------------------
    def inject(self, fault: Any, action: str = "*", times: int = 1) -> None:
        with self.lock:
            self.faults.extend([(action, fault)] * times)

    def by_out_id(self) -> Counter[str]:
        with self.lock:
            return Counter(s.out_id for s in self.sent)

    def push_receipts(self, url: str, *, success: bool = True, timeout: float = 5.0) -> dict[str, Any]:
        """POST an SmsReport array of every SMS still waiting; our answer as JSON."""
        with self.lock:
            waiting = [s for s in self.sent if s.status == 1]
        now = dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
        report = [{"phone_number": s.phone[:3] + "****" + s.phone[-4:], "send_time": now, "report_time": now,
                   "success": success, "err_code": "DELIVERED" if success else "MK:0012",
                   "err_msg": "用户接收成功" if success else "失败", "sms_size": "1",
                   "biz_id": s.biz_id, "out_id": s.out_id} for s in waiting]
        res = httpx.post(url, json=report, timeout=timeout)
        answer: dict[str, Any] = res.json()
        if res.status_code == 200 and answer.get("code") == 0:
            with self.lock:
                for s in waiting:
                    s.status, s.err_code = (3, "DELIVERED") if success else (2, "MK:0012")
                self.receipts_pushed += len(waiting)
        return answer

    # -- server -----------------------------------------------------------------------------------
    def start(self) -> FakeAliyunSms:
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
        self.endpoint = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _reply(self, h: BaseHTTPRequestHandler, payload: dict[str, Any], status: int = 200) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json;charset=utf-8")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            pass

    def _error(self, h: BaseHTTPRequestHandler, code: str, message: str, status: int = 200) -> None:
        with self.lock:
            self.rejected.append(code)
        self._reply(h, {"RequestId": str(uuid.uuid4()), "Code": code, "Message": message}, status)

    def _take_fault(self, action: str) -> Any:
        with self.lock:
            for i, (a, fault) in enumerate(self.faults):
                if a in ("*", action):
                    del self.faults[i]
                    return fault
        return None

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(h.path)
        params = dict(parse_qsl(parsed.query, keep_blank_values=True))
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            try:
                raw = h.rfile.read(length)
            except OSError:
                raw = b""
            if len(raw) < length:  # the client died before its body arrived: nothing done
                h.close_connection = True
                return
            params.update(parse_qsl(raw.decode(), keep_blank_values=True))
        action = params.get("Action", "")
        with self.lock:
            self.requests[action] += 1
        problem = self._check_signature(method, params)
        if problem:
            status = 404 if problem[0] == "InvalidAccessKeyId.NotFound" else 400
            self._error(h, problem[0], problem[1], status=status)
            return
        fault = self._take_fault(action)
        if fault == "timeout":
            time.sleep(self.timeout_sleep_s)
        elif fault == "http500":
            self._reply(h, {"Code": "InternalError", "Message": "busy"}, status=500)
            return
        elif isinstance(fault, str) and fault not in ("after_send_timeout",):
            self._error(h, fault, "injected")
            return
        if action == "SendSms":
            self._send(h, params, answer=fault != "after_send_timeout")
        elif action == "QuerySendDetails":
            self._query(h, params)
        else:
            self._error(h, "InvalidAction.NotFound", "unknown action", status=404)

    def _check_signature(self, method: str, params: dict[str, str]) -> tuple[str, str] | None:
        if params.get("AccessKeyId") != self.access_key_id:
            return ("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            return ("IncompleteSignature", "signature method or version")
        given = params.pop("Signature", "")
        if not hmac.compare_digest(given, rpc_signature(method, params, self.access_key_secret)):
            return ("SignatureDoesNotMatch", "Specified signature does not match our calculation. "
                    f"server string to sign is:{string_to_sign(method, params)}")
        try:
            stamp = dt.datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ")
            stamp = stamp.replace(tzinfo=dt.UTC)
        except ValueError:
            return ("InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) > 900:
            return ("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        nonce = params.get("SignatureNonce", "")
        with self.lock:
            if not nonce or nonce in self.nonces:
                return ("SignatureNonceUsed", "Specified signature nonce was used already.")
            self.nonces.add(nonce)
        if params.get("Version") != "2017-05-25":
            return ("InvalidVersion", "Specified parameter Version is not valid.")
        return None

    def _send(self, h: BaseHTTPRequestHandler, p: dict[str, str], *, answer: bool) -> None:
        phone = p.get("PhoneNumbers", "")
        if not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
            self._error(h, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
            return
        if p.get("SignName") != self.sign_name:
            self._error(h, "isv.SMS_SIGNATURE_ILLEGAL", "签名不合法")
            return
        if not p.get("TemplateCode", "").startswith("SMS_"):
            self._error(h, "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法")
            return
        try:
            values = json.loads(p.get("TemplateParam") or "{}")
        except ValueError:
            self._error(h, "isv.INVALID_JSON_PARAM", "JSON参数不合法")
            return
        if any(len(str(v)) > 35 for v in values.values()):
            self._error(h, "isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")
            return
        now = self.clock()
        with self.lock:
            today = [s for s in self.sent if s.phone == phone and s.template_code == p["TemplateCode"]
                     and now - s.at < dt.timedelta(hours=24)]
            over = len(today) >= self.daily_limit
            if not over:
                biz_id = f"{int(time.time() * 1000)}{len(self.sent):06d}^0"
                self.sent.append(SentSms(phone, p["SignName"], p["TemplateCode"], values, p.get("OutId", ""),
                                         biz_id, now))
        if over:
            self._error(h, "isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:50")
            return
        if not answer:  # sent, but the answer is lost
            time.sleep(self.timeout_sleep_s)
            return
        self._reply(h, {"RequestId": str(uuid.uuid4()), "Code": "OK", "Message": "OK", "BizId": biz_id})

    def _query(self, h: BaseHTTPRequestHandler, p: dict[str, str]) -> None:
        phone, day = p.get("PhoneNumber", ""), p.get("SendDate", "")
        size, page = int(p.get("PageSize", "10")), int(p.get("CurrentPage", "1"))
        if not 1 <= size <= 50:
            self._error(h, "isv.INVALID_PARAMETERS", "PageSize")
            return
        with self.lock:
            found = [s for s in self.sent if s.phone == phone
                     and s.at.astimezone(SHANGHAI).strftime("%Y%m%d") == day]
        items = [{"PhoneNum": s.phone, "SendStatus": s.status, "ErrCode": s.err_code or "",
                  "TemplateCode": s.template_code, "Content": "", "OutId": s.out_id,
                  "SendDate": s.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
                  "ReceiveDate": "", "BizId": s.biz_id}
                 for s in found[(page - 1) * size: page * size]]
        self._reply(h, {"RequestId": str(uuid.uuid4()), "Code": "OK", "Message": "OK",
                        "TotalCount": len(found), "SmsSendDetailDTOs": {"SmsSendDetailDTO": items}})
