"""Logging the webhook's failures and requests without the data they carry (catalogue D-02).

An exception's text carries data: a SQLAlchemy error prints the statement's parameters (openids,
what the customer wrote), PostgreSQL's message repeats the values of a violated key, and a parsing
error quotes its input. A failure is therefore logged as its type, its cause's type and where it
happened, never with its message. The access log's request line of the webhook loses its query
string, which carries the sender's openid (and the signatures).
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
_OUR_FRAMES = 4  # the innermost frames of our code: enough to find the line


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


def _ours(filename: str) -> bool:
    path = Path(filename).resolve()
    return path.is_relative_to(_ROOT) and "site-packages" not in path.parts


def _short(filename: str) -> str:
    path = Path(filename).resolve()
    return str(path.relative_to(_ROOT)) if _ours(filename) else "/".join(path.parts[-3:])


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """Log ``what`` failed, with :func:`describe` of ``exc`` (never its message nor its traceback text)."""
    logger.error("%s: %s", what, describe(exc), stacklevel=2)


class WithoutQueryString(logging.Filter):
    """Drops the query string from the access log's request lines of ``path`` (uvicorn's and others
    that pass the path as an argument of the record)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, str) and self._with_query(a) for a in args):
            record.args = tuple(a.split("?", 1)[0] if isinstance(a, str) and self._with_query(a) else a
                                for a in args)
        return True

    def _with_query(self, value: str) -> bool:
        return value.startswith(self.path) and "?" in value


def quiet_access_log(path: str, logger_name: str = "uvicorn.access") -> None:
    """Install :class:`WithoutQueryString` for ``path`` on the access logger (once)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, WithoutQueryString) and f.path == path for f in logger.filters):
        logger.addFilter(WithoutQueryString(path))
