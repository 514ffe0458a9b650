"""The service for the browser tests: ``python -m tests.browser.serve_proc --port N`` (settings from CS_…).

It is ``python -m backend serve`` (API and its job worker in one process) with a test clock: the time
starts at ``BROWSER_CLOCK_START`` (at ``BROWSER_CLOCK_WALL`` on the wall clock), runs on with the wall
clock, and jumps ahead by the seconds written in ``BROWSER_CLOCK_FILE`` (the tests write it to
let the 3-minute SLA timer fall due without waiting 3 minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

from backend.runtime import Runtime, build_runtime
from config.settings import Settings, get_settings


class FileClock:
    """start + wall time elapsed since ``wall_start`` + the offset in ``path`` (seconds)."""

    def __init__(self, start: dt.datetime, wall_start: float, path: Path) -> None:
        self.start, self.wall_start, self.path = start, wall_start, path

    def offset(self) -> float:
        try:
            return float(self.path.read_text() or 0)
        except (OSError, ValueError):
            return 0.0

    def __call__(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=time.time() - self.wall_start + self.offset())


def clock_from_env() -> FileClock:
    return FileClock(dt.datetime.fromisoformat(os.environ["BROWSER_CLOCK_START"]),
                     float(os.environ["BROWSER_CLOCK_WALL"]), Path(os.environ["BROWSER_CLOCK_FILE"]))


def main() -> None:
    import uvicorn

    from backend.app import create_app
    from backend.edge import uvicorn_options

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    clock = clock_from_env()

    def factory(settings: Settings) -> Runtime:
        runtime = build_runtime(settings)
        runtime.clock = clock
        return runtime

    settings = get_settings()
    uvicorn.run(create_app(settings, runtime_factory=factory), host="127.0.0.1", port=args.port,
                **uvicorn_options(settings))


if __name__ == "__main__":
    main()
