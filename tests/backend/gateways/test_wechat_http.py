"""The keep-alive JSON poster of the WeChat gateway's hot calls, against a server that answers the way
it is told to (lengths, chunks, closed connections, silence), and against the fake WeChat API."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

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
