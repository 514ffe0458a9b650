"""Logging set-up: never SQL parameters, request URLs or tokens in the logs (catalogue D-02).

SQLAlchemy logs every statement *with its parameters* as soon as its logger is enabled for INFO, which
a root logger at INFO does; HTTP clients log request URLs, and WeChat API URLs carry the access token.
These loggers are held at WARNING whatever the root level is.

The server's access log (uvicorn) would write every request line with its query string, and WeChat's
pushes carry the customer's openid and the signatures there: :class:`PathOnly` keeps only the path
(``python -m backend serve`` configures uvicorn with :func:`uvicorn_log_config`).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

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
