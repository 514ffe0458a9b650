"""Body-size caps for the mini-program API, enforced in ASGI before any body is read (M-06).

Starlette would read (and spool) a whole multipart body before a handler could look at it, so the
cap lives here: a declared ``Content-Length`` over the cap is answered 413 at once, without reading;
a body without one (chunked) or with a lying one is counted as it streams and cut off at the cap.
Uploads get the file cap plus room for the multipart envelope; everything else gets the JSON cap.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from backend.edge import BodyLimit

ENVELOPE = 16 * 1024


class MiniProgramLimits(BodyLimit):
    """The edge's body cap over ``prefix`` (see the module docstring), with the mini-program's words."""

    def __init__(self, app: ASGIApp, *, prefix: str, upload_bytes: int, json_bytes: int) -> None:
        upload_cap = upload_bytes + ENVELOPE

        def cap(path: str) -> int:
            return upload_cap if path.endswith("/attachments") else json_bytes

        super().__init__(app, prefix=prefix, limit=cap, code="body_too_large",
                         message="内容太大了，请换一个小一点的文件")
