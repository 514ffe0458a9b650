"""The keep-alive JSON poster of the WeChat gateway's hot calls, against a server that answers the way
it is told to (lengths, chunks, closed connections, silence), and against the fake WeChat API."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.gateways.exceptions import WechatApiError
from backend.gateways.wechat_http import JsonPoster, WeChatApiAnswer
from tests.support.fake_wechat import FakeWechat


class ScriptedServer:
    """A TCP server answering each request with the next scripted answer: raw bytes, then whether to
    close the connection after it ("close"), or to say nothing ("silent")."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.script: list[tuple[bytes, str]] = []
        self.connections = 0
        self.requests: list[bytes] = []
        self.tls: ssl.SSLContext | None = None  # set: the connections are TLS
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()
                return
        rfile = conn.makefile("rb")
        with conn:
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = rfile.readline()
                    if not line:
                        return
                    head += line
                length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n")
                              if h.lower().startswith(b"content-length"))
                self.requests.append(head + rfile.read(length))
                answer, then = self.script.pop(0)
                if then == "silent":
                    time.sleep(2)
                    return
                conn.sendall(answer)
                if then == "close":
                    return

    def close(self) -> None:
        self.sock.close()


def _ok(body: bytes, *extra: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"".join(e + b"\r\n" for e in extra)
            + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    yield s
    s.close()


def test_keeps_the_connection_and_sends_the_json_with_the_token(server: ScriptedServer) -> None:
    server.script = [(_ok(b'{"errcode":0,"msgid":1}'), ""), (_ok(b'{"errcode":0,"msgid":2}'), "")]
    poster = JsonPoster(timeout_s=2)
    assert poster.post(f"{server.url}/cgi-bin/message/template/send", {"touser": "张三"}, access_token="T1") \
        == {"errcode": 0, "msgid": 1}
    assert poster.post(f"{server.url}/cgi-bin/message/template/send", {"touser": "o2"}, access_token="T1") \
        == {"errcode": 0, "msgid": 2}
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /cgi-bin/message/template/send?access_token=T1 HTTP/1.1\r\n")
    assert json.loads(first.split(b"\r\n\r\n", 1)[1]) == {"touser": "张三"}
    poster.close()


def test_chunked_answers_and_answers_that_end_with_the_connection(server: ScriptedServer) -> None:
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"6\r\n{\"errc\r\n9;x=1\r\node\":0,\"m\r\n8\r\nsgid\":7}\r\n0\r\n\r\n")
    server.script = [(chunked, ""), (b'HTTP/1.0 200 OK\r\n\r\n{"errcode":0,"msgid":8}', "close"),
                     (_ok(b'{"errcode":0,"msgid":9}', b"Connection: close"), "close"),
                     (_ok(b'{"errcode":0,"msgid":10}'), "")]
    poster = JsonPoster(timeout_s=2)
    got = [poster.post(f"{server.url}/x", {}, access_token="T")["msgid"] for _ in range(4)]
    assert got == [7, 8, 9, 10]
    assert server.connections == 3  # a new connection after each answer that closed its own
    poster.close()


def test_a_kept_connection_the_server_closed_is_replaced_before_use(server: ScriptedServer) -> None:
    server.script = [(_ok(b'{"errcode":0}'), "close"), (_ok(b'{"errcode":0,"n":2}'), "")]
    poster = JsonPoster(timeout_s=2)
    poster.post(f"{server.url}/x", {}, access_token="T")  # kept: the answer did not say it closes
    time.sleep(0.2)
    assert poster.post(f"{server.url}/x", {}, access_token="T") == {"errcode": 0, "n": 2}
    assert server.connections == 2
    poster.close()


def test_errors_are_the_gateways_errors(server: ScriptedServer) -> None:
    server.script = [
        (_ok(b'{"errcode":43004,"errmsg":"require subscribe"}'), ""),
        (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nbusy", ""),
        (_ok(b'{"errcode":0,"errm'), ""),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"errcode\":0", "close"),
        (b"", "silent"),
    ]
    poster = JsonPoster(timeout_s=0.5)
    url = f"{server.url}/x"
    with pytest.raises(WeChatApiAnswer) as answer:
        poster.post(url, {}, access_token="T")
    assert answer.value.errcode == 43004
    with pytest.raises(WechatApiError, match="http error 500"):
        poster.post(url, {}, access_token="T")
    with pytest.raises(WechatApiError, match="garbled"):
        poster.post(url, {}, access_token="T")
    with pytest.raises(WechatApiError, match="network error"):
        poster.post(url, {}, access_token="T")  # the answer ended before its length
    started = time.monotonic()
    with pytest.raises(WechatApiError, match="timeout"):
        poster.post(url, {}, access_token="T")
    assert time.monotonic() - started < 1.5
    poster.close()


def test_nobody_listening_is_a_network_error() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(WechatApiError, match="network error"):
        JsonPoster(timeout_s=0.5).post(f"http://127.0.0.1:{port}/x", {}, access_token="T")


def test_many_threads_against_the_fake_wechat_api(fake_wechat: FakeWechat) -> None:
    token = fake_wechat._issue_token(force=False)
    poster = JsonPoster(timeout_s=3, maxsize=4)
    url = f"{fake_wechat.url}/cgi-bin/message/template/send"
    results: list[dict[str, object]] = []

    def send(i: int) -> None:
        for j in range(10):
            results.append(poster.post(url, {"touser": f"o{i}", "template_id": "T", "data": {},
                                             "client_msg_id": f"m{i}-{j}"}, access_token=token))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80 and len({str(r["msgid"]) for r in results}) == 80
    assert len(fake_wechat.templates) == 80
    assert len(poster._idle[next(iter(poster._idle))]) <= 4  # no more than maxsize kept
    poster.close()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_https_checks_the_certificate_and_keeps_the_tls_connection(server: ScriptedServer,
                                                                   tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.tls = context
    server.script = [(_ok(b'{"errcode":0,"n":1}'), ""), (_ok(b'{"errcode":0,"n":2}'), ""), (b"", "")]
    url = server.url.replace("http://127.0.0.1", "https://localhost") + "/x"
    # The system's certificates do not know this one: refused before anything is sent.
    with pytest.raises(WechatApiError, match="network error: SSLCertVerificationError"):
        JsonPoster(timeout_s=2).post(url, {}, access_token="T")
    assert server.requests == []
    trusting = ssl.create_default_context(cafile=str(cert))
    poster = JsonPoster(timeout_s=2, tls=trusting)
    assert [poster.post(url, {"a": "理赔"}, access_token="T")["n"] for _ in range(2)] == [1, 2]
    assert json.loads(server.requests[0].split(b"\r\n\r\n", 1)[1]) == {"a": "理赔"}
    assert server.connections == 2  # the refused handshake, then one kept TLS connection
    poster.close()
