"""Logging the webhook's failures and requests without the data they carry (catalogue D-02).

An exception's text carries data: a SQLAlchemy error prints the statement's parameters (openids,
what the customer wrote), PostgreSQL's message repeats the values of a violated key, and a parsing
error quotes its input. A failure is therefore logged as its type, its cause's type and where it
happened, never with its message. The access log's request line of the webhook loses its query
string, which carries the sender's openid (and the signatures).
"""

from __future__ import annotations

import logging

from backend.logs import describe


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
