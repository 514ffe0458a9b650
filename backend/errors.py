"""The exceptions every part of backend/ raises, and the one error shape of every API:
``{"error": {"code", "message", "detail"}}``.

``message`` is plain Chinese a customer can read; ``detail`` is for developers and never echoes
private input. A :class:`ServiceError` (and its subclasses) becomes that shape with its status code;
:class:`StartupError` stops the process with a message saying what to fix.

Exceptions that belong to one module stay with it: ``CryptoError`` (``backend.security.crypto``),
``CalendarFileError`` (``backend.calendar.service``), ``ProductFileError`` (``backend.products.service``),
``InvalidIdNumber`` (``backend.roster.idcard``), ``RosterFileError`` (``backend.roster.csvfile``),
``BenefitInputError`` (``backend.claims.benefits``) and the WeChat API errors
(``backend.gateways.exceptions``).
"""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A dependency is missing or unreachable at start-up; the message says which and how to fix it."""


class ServiceError(Exception):
    """A domain error with a stable code, a Chinese message and an HTTP status."""

    status_code = 400

    def __init__(self, code: str, message: str, *, detail: Any = None, status_code: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code


class NotFound(ServiceError):
    """The object does not exist (or the caller may not know that it does)."""

    status_code = 404


class Conflict(ServiceError):
    """The request conflicts with the object's current state."""

    status_code = 409


class Forbidden(ServiceError):
    """The caller is known but not allowed to do this."""

    status_code = 403


class Unauthorized(ServiceError):
    """The caller is not (or no longer) logged in."""

    status_code = 401


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {"error": {"code": code, "message": message, "detail": detail}}


class ErrorDetail(BaseModel):
    """``code`` is stable (for programs), ``message`` plain Chinese, ``detail`` for developers."""

    code: str
    message: str
    detail: Any = None


class ErrorOut(BaseModel):
    """The body of every error response (for the OpenAPI schema)."""

    error: ErrorDetail


# The error answers of the staff API, for the OpenAPI schema (422 replaces FastAPI's own shape).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in ((401, "Not logged in, or the session ended"), (403, "Not allowed"),
                         (404, "Not found"), (409, "Conflicts with the current state"),
                         (422, "Invalid input"))
}


_HTTP_MESSAGES = {
    400: "请求有误，请检查后再试",
    401: "请先登录",
    403: "没有权限",
    404: "找不到您要的内容",
    405: "不支持这种操作",
    413: "内容太大了，请分开发送",
    429: "操作太频繁，请稍后再试",
}


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to the one error shape; never leak a traceback."""

    @app.exception_handler(ServiceError)
    async def _service_error(_req: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.detail), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        # an exception may carry its own code and words (the edge's body cap does)
        code = getattr(exc, "code", None) or f"http_{exc.status_code}"
        msg = getattr(exc, "message", None) or _HTTP_MESSAGES.get(exc.status_code, "请求没有成功，请稍后再试")
        detail = exc.detail if isinstance(exc.detail, str) else None
        return JSONResponse(
            error_body(code, msg, detail),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_req: Request, exc: RequestValidationError) -> JSONResponse:
        # Field locations and error types only: never the submitted values (they may be private).
        detail = [{"loc": list(e.get("loc", ())), "type": e.get("type")} for e in exc.errors()]
        return JSONResponse(error_body("invalid_request", "填写的内容有误，请检查后再试", detail), 422)

    async def _unavailable(_req: Request, exc: Exception) -> JSONResponse:
        log.error("dependency unavailable: %s", type(exc).__name__)
        return JSONResponse(
            error_body("service_unavailable", "系统正忙，请稍后再试", type(exc).__name__),
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(_req: Request, exc: IntegrityError) -> JSONResponse:
        # A constraint said no (for example two requests creating the same thing at once): not an
        # outage, so no 503; the client should reload and decide again.
        log.warning("integrity error: %s", type(exc.orig).__name__ if exc.orig else "unknown")
        return JSONResponse(error_body("conflict", "这条记录刚被别人改过或已经存在，请刷新后再试"), 409)

    for exc_type in (
        OperationalError,
        DBAPIError,
        PoolTimeoutError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
    ):
        app.add_exception_handler(exc_type, _unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error: %s", type(exc).__name__)
        return JSONResponse(error_body("internal_error", "系统出了点问题，请稍后再试"), 500)
