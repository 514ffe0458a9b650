"""Logging set-up: never SQL parameters, request URLs or tokens in the logs (catalogue D-02).

SQLAlchemy logs every statement *with its parameters* as soon as its logger is enabled for INFO, which
a root logger at INFO does; HTTP clients log request URLs, and WeChat API URLs carry the access token.
These loggers are held at WARNING whatever the root level is.
"""

from __future__ import annotations

import logging

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
