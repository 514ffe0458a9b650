"""Logging set-up: never SQL parameters, request URLs or tokens in the logs (catalogue D-02).

SQLAlchemy logs every statement *with its parameters* as soon as its logger is enabled for INFO, which
a root logger at INFO does; HTTP clients log request URLs, and WeChat API URLs carry the access token.
These loggers are held at WARNING whatever the root level is.

The server's access log (uvicorn) would write every request line with its query string, and WeChat's
pushes carry the customer's openid and the signatures there: :class:`PathOnly` keeps only the path
(``python -m backend serve`` configures uvicorn with :func:`uvicorn_log_config`).

An exception's text carries data too: a SQLAlchemy error prints the statement's parameters (openids,
what customers wrote), PostgreSQL's message repeats the values of a violated key. :func:`describe` says
what failed and where, never the message; :func:`error_text` uses it for database errors (the webhook's
failures, the job runner's log lines and the ``last_error`` staff read).
"""

from __future__ import annotations

import copy
import logging
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

_ROOT = Path(__file__).resolve().parents[1]
_OUR_FRAMES = 4  # the innermost frames of our code: enough to find the line

QUIET_LOGGERS = ("sqlalchemy.engine", "sqlalchemy.pool", "httpx", "httpcore", "urllib3", "requests",
                 "wechatpy", "jieba")


def quiet_noisy_loggers() -> None:
    """Hold the loggers that would print statements, parameters, URLs or tokens at WARNING."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: int = logging.INFO) -> None:
    """The process's logging: one line per record, and the noisy loggers quieted."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_noisy_loggers()


class PathOnly(logging.Filter):
    """Drops the query string from uvicorn's access-log records (their third argument is the path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """Uvicorn's logging configuration with :class:`PathOnly` on its access logger."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["path_only"] = {"()": f"{__name__}.PathOnly"}
    config["loggers"]["uvicorn.access"]["filters"] = ["path_only"]
    return config


def describe(exc: BaseException) -> str:
    """``Type(cause type) at file:line in function <- ...``: the innermost frame, then the innermost
    frames of our code; never the message."""
    kind = type(exc).__name__
    cause = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    if cause is not None and cause is not exc:
        kind += f"({type(cause).__module__}.{type(cause).__name__})"
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if _ours(f.filename)][-_OUR_FRAMES:]
    shown = ([frames[-1]] if frames and frames[-1] not in ours else []) + list(reversed(ours))
    where = " <- ".join(f"{_short(f.filename)}:{f.lineno} in {f.name}" for f in shown)
    return f"{kind} at {where}" if where else kind


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` or what caused it is a database error (whose text would carry data)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, SQLAlchemyError) or type(current).__module__.split(".")[0] in (
            "psycopg", "sqlite3", "psycopg2"
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def error_text(exc: BaseException) -> str:
    """A failure as staff and logs may read it: ``Type: message``, or for a database error only
    :func:`describe` (type and place, never the statement's parameters or the key's values)."""
    return describe(exc) if is_database_error(exc) else f"{type(exc).__name__}: {exc}"


def _ours(filename: str) -> bool:
    path = Path(filename).resolve()
    return path.is_relative_to(_ROOT) and "site-packages" not in path.parts


def _short(filename: str) -> str:
    path = Path(filename).resolve()
    return str(path.relative_to(_ROOT)) if _ours(filename) else "/".join(path.parts[-3:])
