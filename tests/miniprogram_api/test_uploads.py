"""Uploads: type by content (M-05), size and count caps before the body is read (M-06), image bombs and
metadata (M-07), PDFs scanned, never parsed (M-08)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from miniprogram_api.limits import MiniProgramLimits
from tests.backend.storage import images
from tests.miniprogram_api.conftest import API, MP


def _upload(
    mp: MP,
    headers: dict[str, str],
    claim_id: int,
    data: bytes,
    *,
    name: str = "x.jpg",
    ctype: str = "image/jpeg",
    key: str | None = None,
) -> Any:
    import uuid

    return mp.client.post(
        f"{API}/claims/{claim_id}/attachments",
        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
        files={"file": (name, data, ctype)},
    )


def test_m05_type_is_read_from_the_content_not_the_name_or_header(mp: MP) -> None:
    headers, claim = mp.claim()
    r = _upload(mp, headers, claim["id"], images.png(), name="report.pdf", ctype="application/pdf")
    assert r.status_code == 201 and r.json()["content_type"] == "image/png"
    for data, name in (
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "a.jpg"),
        (b"<html><body>hi</body></html>", "a.png"),
        (b"GIF89a\x01\x00\x01\x00", "a.jpg"),
        (b"PK\x03\x04" + b"\x00" * 40, "a.pdf"),
    ):
        r = _upload(mp, headers, claim["id"], data, name=name, ctype="image/jpeg")
        assert r.status_code == 400 and r.json()["error"]["code"] == "file_unsupported_type", r.text
    assert len(mp.client.get(f"{API}/claims/{claim['id']}/attachments", headers=headers).json()["items"]) == 1


def test_m05_polyglot_tail_is_not_stored(mp: MP) -> None:
    headers, claim = mp.claim()
    r = _upload(mp, headers, claim["id"], images.jpeg() + b"<html><script>alert(1)</script>")
    got = mp.client.get(f"{API}/claims/{claim['id']}/attachments/{r.json()['id']}/content", headers=headers)
    assert b"<script" not in got.content and got.content.endswith(b"\xff\xd9")


def test_m06_declared_oversize_body_is_refused_before_it_is_read() -> None:
    """The middleware answers 413 from the Content-Length alone: the app never runs, no byte is read."""
    ran: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        ran.append(True)

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    mw = MiniProgramLimits(app, prefix="/mp/v1", upload_bytes=10 << 20, json_bytes=64 << 10)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/mp/v1/claims/1/attachments",
        "headers": [(b"content-length", str(50 << 20).encode())],
    }
    asyncio.run(mw(scope, receive, send))
    assert not ran and sent[0]["status"] == 413
    scope = {**scope, "path": "/mp/v1/claims", "headers": [(b"content-length", str(100 << 10).encode())]}
    asyncio.run(mw(scope, receive, send))
    assert not ran and sent[-2]["status"] == 413


def test_m06_chunked_body_over_the_cap_is_cut_off_and_nothing_is_kept(mp: MP) -> None:
    mp.runtime.settings.miniprogram.max_upload_bytes = 200_000
    headers, claim = mp.claim()
    big = images.jpeg(600, 600, noise=True, quality=95)
    assert len(big) > 250_000

    def body() -> Any:  # a generator: sent chunked, without Content-Length
        boundary = b"XyZ"
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        for i in range(0, len(big), 32_768):
            yield big[i : i + 32_768]
        yield b"\r\n--" + boundary + b"--\r\n"

    r = mp.client.post(
        f"{API}/claims/{claim['id']}/attachments",
        content=body(),
        headers={
            **headers,
            "Idempotency-Key": "chunky-0001",
            "Content-Type": "multipart/form-data; boundary=XyZ",
        },
    )
    assert r.status_code == 413, r.text
    assert mp.client.get(f"{API}/claims/{claim['id']}/attachments", headers=headers).json()["items"] == []
    files = mp.runtime.settings.var_dir / "files"
    assert not [p for p in files.rglob("*") if p.is_file()]


def test_m06_chunked_json_body_over_the_cap_is_refused_413_in_plain_chinese(mp: MP) -> None:
    """A form body sent chunked past the JSON cap is cut off with the mini-program's 413, not a 400
    about an unreadable body (FastAPI turns any other error met while reading a body into 400)."""
    cap = mp.runtime.settings.miniprogram.max_json_bytes  # read when the app was made
    headers, _claim = mp.claim()

    def body() -> Any:  # a generator: sent chunked, without Content-Length
        yield b'{"content": "'
        for _ in range(cap // 1_024 + 8):
            yield b"x" * 1_024
        yield b'"}'

    r = mp.client.post(f"{API}/complaints", content=body(),
                       headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "body_too_large"
    assert "太大" in r.json()["error"]["message"]


def test_m06_per_file_cap_and_per_claim_count(mp: MP) -> None:
    mp.runtime.settings.miniprogram.max_files_per_claim = 2
    headers, claim = mp.claim()
    for _ in range(2):
        assert _upload(mp, headers, claim["id"], images.jpeg()).status_code == 201
    r = _upload(mp, headers, claim["id"], images.jpeg())
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_files"


def test_m07_image_bomb_is_refused_and_nothing_is_stored(mp: MP) -> None:
    headers, claim = mp.claim()
    for data in (images.jpeg_header_only(12_000, 12_000), images.png_header_only(50_000, 50_000)):
        r = _upload(mp, headers, claim["id"], data)
        assert r.status_code == 400 and r.json()["error"]["code"] == "file_image_too_large"
    assert mp.client.get(f"{API}/claims/{claim['id']}/attachments", headers=headers).json()["items"] == []


def test_m07_location_and_camera_data_are_removed(mp: MP) -> None:
    headers, claim = mp.claim()
    r = _upload(mp, headers, claim["id"], images.png())
    got = mp.client.get(f"{API}/claims/{claim['id']}/attachments/{r.json()['id']}/content", headers=headers)
    assert images.GPS_MAKER.encode() not in got.content


@pytest.mark.parametrize(
    "extra", [b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", b"/Names << /EmbeddedFiles 3 0 R >>"]
)
def test_m08_pdf_with_javascript_or_embedded_files_is_refused(mp: MP, extra: bytes) -> None:
    headers, claim = mp.claim()
    r = _upload(mp, headers, claim["id"], images.minimal_pdf(extra), name="a.pdf", ctype="application/pdf")
    assert r.status_code == 400 and r.json()["error"]["code"].startswith("file_pdf_")


def test_m08_pdf_is_never_parsed_in_the_request_path(mp: MP) -> None:
    """A PDF whose object graph would send a parser into a loop (an object stream pointing at itself,
    a huge /Count) is stored as it is, in about the time it takes to read it."""
    headers, claim = mp.claim()
    nasty = (
        b"%PDF-1.7\n1 0 obj << /Type /ObjStm /N 999999999 /First 0 /Extends 1 0 R /Length 5 >>\nstream\n"
        b"1 0 1\nendstream endobj\n2 0 obj << /Type /Pages /Kids [2 0 R] /Count 4294967295 >> endobj\n"
        + b"3 0 obj ["
        + b"[" * 50_000
        + b"]" * 50_000
        + b"] endobj\n"
        b"xref\n0 0\ntrailer << /Root 2 0 R /Prev 0 >>\nstartxref\n9\n%%EOF\n"
    )
    start = time.perf_counter()
    r = _upload(mp, headers, claim["id"], nasty, name="a.pdf", ctype="application/pdf")
    assert r.status_code == 201 and r.json()["content_type"] == "application/pdf"
    assert time.perf_counter() - start < 2.0
    got = mp.client.get(f"{API}/claims/{claim['id']}/attachments/{r.json()['id']}/content", headers=headers)
    assert got.content == nasty
