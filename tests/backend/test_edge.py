"""The HTTP edge (backend.edge): the staff API's body cap before anything reads the body (A-01), the
security headers of every app answer and none on the WeChat push hot path (A-05), customer text returned
as JSON data, and X-Forwarded-For believed only from configured proxies."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.app import create_app
from backend.audit.models import AuditRecord
from backend.complaints import service as complaints
from backend.runtime import Runtime
from config.settings import Settings
from tests.backend.claims.support import NOW, calendar
from tests.backend.staff.helpers import Staff

LOGIN = "/staff/api/auth/login"


def _asgi_post(app: FastAPI, path: str, chunks: list[bytes],
               headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes, int, list[tuple[bytes, bytes]]]:
    """POST through the app at the ASGI level: (status, body, body messages the app read, headers)."""
    pending = list(chunks)
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        if not pending:
            return {"type": "http.disconnect"}
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                                          *headers],
             "client": ("192.0.2.10", 50000), "server": ("testserver", 80), "app": app}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, reads, list(start["headers"])


def _logins(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "login")) or 0


def test_a01_staff_body_over_the_cap_is_refused_before_it_is_read(client: TestClient, db: Session) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    before = _logins(db)
    # A 50 MB login body announced: refused on its Content-Length, not one byte read.
    status, body, reads, headers = _asgi_post(app, LOGIN, [b"{" * 1024], [(b"content-length", b"52428800")])
    assert (status, reads) == (413, 0)
    assert json.loads(body)["error"]["code"] == "http_413"
    assert (b"x-content-type-options", b"nosniff") in headers
    # The same streamed without a length (chunked): refused once the cap is passed, the rest never read.
    chunk = b" " * 16 * 1024
    status, body, reads, _ = _asgi_post(app, LOGIN, [chunk] * 3200, [])
    assert status == 413 and json.loads(body)["error"]["code"] == "http_413"
    assert reads <= 64 * 1024 // len(chunk) + 1
    # A lying Content-Length: the stream is counted, not the header.
    status, _, reads, _ = _asgi_post(app, LOGIN, [chunk] * 3200, [(b"content-length", b"100")])
    assert status == 413 and reads <= 5
    assert _logins(db) == before  # no login was attempted: the route never ran
    # A normal body is served as before.
    ok = client.post(LOGIN, json={"username": "nobody", "password": "Wrong#Pass2026", "totp_code": "123456"})
    assert ok.status_code == 401


def _security_headers(r: Any) -> None:
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert "default-src 'self'" in csp and "object-src 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"


def test_a05_security_headers_on_every_app_answer(client: TestClient, staff: Staff) -> None:
    officer = staff("claims_officer")
    for r in (client.get("/staff/api/auth/me", headers=officer),  # personal data
              client.post(LOGIN, json={"username": "x", "password": "y", "totp_code": "1"}),  # an error
              client.get("/staff/api/claims/2147483647", headers=officer),  # 404 in the error shape
              client.get("/staff/api/claims", params={"limit": 0}, headers=officer),  # 422
              client.get("/readyz"), client.get("/openapi.json")):
        _security_headers(r)
    docs = client.get("/docs")  # local mode only; Swagger UI starts with an inline script
    assert docs.status_code == 200
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert docs.headers["x-content-type-options"] == "nosniff"


def test_a05_wechat_push_answers_carry_no_browser_headers(client: TestClient) -> None:
    """Pushes are answered by the webhook's front door, ahead of the app's middleware: their answers go to
    WeChat's servers, not to a browser, and the hot path stays as cheap as it was."""
    query = {"timestamp": "1", "nonce": "n", "msg_signature": "x"}
    r = client.post("/wechat", params=query, content=b"<xml/>")
    assert r.status_code in (400, 403)
    assert "content-security-policy" not in r.headers and "cache-control" not in r.headers


def test_a05_customer_script_text_is_returned_as_json_data(client: TestClient, db: Session, runtime: Runtime,
                                                           staff: Staff) -> None:
    script = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>"
    c = complaints.file_complaint(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                  category="other", severity="normal", channel="phone",
                                  complainant_name="王大明", contact_phone="13800138123",
                                  content=f"服务太差{script}", actor="staff:1", now=NOW)
    db.flush()
    r = client.get(f"/staff/api/complaints/{c.id}", headers=staff("agent"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    _security_headers(r)  # nosniff: a browser never runs it as HTML; the CSP allows no inline script
    assert r.json()["content"] == f"服务太差{script}"  # data, unchanged: the console escapes what it shows


def _client_ip_of_login(app: FastAPI, db: Session, peer: str, forwarded_for: str) -> str | None:
    tc = TestClient(app, client=(peer, 40000), raise_server_exceptions=False)
    name = f"probe{len(peer)}{forwarded_for.replace('.', '')}"
    r = tc.post(LOGIN, headers={"X-Forwarded-For": forwarded_for},
                json={"username": name, "password": "Wrong#Pass2026", "totp_code": "123456"})
    assert r.status_code == 401
    db.expire_all()
    return db.scalars(select(AuditRecord.ip).where(AuditRecord.action == "login")
                      .order_by(AuditRecord.seq.desc()).limit(1)).first()


def test_a01_forwarded_for_is_believed_only_from_configured_proxies(
        client: TestClient, db: Session, runtime: Runtime, settings: Settings) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    # No proxy configured (the default): nobody's X-Forwarded-For counts, not even localhost's.
    assert _client_ip_of_login(app, db, "127.0.0.1", "203.0.113.9") == "127.0.0.1"
    assert _client_ip_of_login(app, db, "10.0.0.5", "203.0.113.9") == "10.0.0.5"
    behind = settings.model_copy(update={"http": settings.http.model_copy(update={"trusted_proxies":
                                                                                   "10.0.0.5"})})
    proxied = create_app(behind, runtime_factory=lambda _s: runtime)
    proxied.state.runtime = runtime  # served without a lifespan: the test's runtime
    assert _client_ip_of_login(proxied, db, "10.0.0.5", "203.0.113.9") == "203.0.113.9"
    assert _client_ip_of_login(proxied, db, "10.0.0.6", "203.0.113.9") == "10.0.0.6"
