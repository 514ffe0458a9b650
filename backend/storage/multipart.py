"""One file part of a ``multipart/form-data`` request, read as it streams in (never spooled to disk).

Used by every upload route (the mini-program's claim documents, the console's pictures): the caller
gives what to do with each chunk of the file (count it, feed it to an :class:`~backend.storage.ingest.
Ingest`) and its own customer-facing words for the three ways a body can be wrong.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from backend.errors import ServiceError


class StreamingRequest(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...

    def stream(self) -> AsyncIterable[bytes]: ...


@dataclass(frozen=True)
class PartWords:
    """The errors of one route, in its own words: (code, message) each."""

    not_multipart: tuple[str, str]
    second_file: tuple[str, str]
    no_file: tuple[str, str]


def _error(pair: tuple[str, str]) -> ServiceError:
    return ServiceError(pair[0], pair[1], detail={"field": "file"})


async def stream_file_part(request: StreamingRequest, on_data: Callable[[bytes], None], *, words: PartWords,
                           any_file_name: bool = False) -> None:
    """Feed the ``file`` part's bytes to ``on_data`` as they arrive; other fields are skipped.

    ``any_file_name``: a part carrying a file name is the file whatever its field name (browsers'
    forms built by hand name it otherwise). A second file, no file or a body that is not multipart is
    a :class:`ServiceError` in the route's words; ``on_data`` may raise to stop (e.g. too large).
    """
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise _error(words.not_multipart)
    state: dict[str, Any] = {"headers": [], "field": b"", "value": b"", "name": None, "seen": False}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"].append((state["field"].lower(), state["value"]))
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, opts = parse_options_header(dict(state["headers"]).get(b"content-disposition", b""))
        is_file = opts.get(b"name") == b"file" or (any_file_name and b"filename" in opts)
        state["name"], state["headers"] = (b"file" if is_file else opts.get(b"name")), []
        if is_file:
            if state["seen"]:
                raise _error(words.second_file)
            state["seen"] = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["name"] == b"file":
            on_data(data[start:end])

    parser = MultipartParser(boundary, callbacks={
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data})
    async for chunk in request.stream():
        parser.write(chunk)
    parser.finalize()
    if not state["seen"]:
        raise _error(words.no_file)
