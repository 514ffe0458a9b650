"""Admin command line. Every command brings the schema up to date itself.

    python -m backend serve [--host H] [--port P]      run the API (and the job worker) on the settings
    python -m backend worker                           run the job worker alone
    python -m backend db upgrade                       apply migrations (also done by every command)
    python -m backend roster import FILE               import a roster CSV
    python -m backend staff create USERNAME --role admin
    python -m backend audit verify                     verify the audit hash chain
    python -m backend crypto rotate [--batch 500]      re-encrypt private data with the active key
    python -m backend crypto status                    values per encryption key id
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from backend.errors import StartupError
from backend.logs import configure_logging
from backend.runtime import Runtime, build_runtime
from config.settings import get_settings

# Domains that add commands: each module has register(subparsers) -> None, and its handlers take
# (args, runtime) and return an exit code.
COMMAND_MODULES = [
    "backend.roster.cli",
    "backend.staff.cli",
    "backend.audit.cli",
    "backend.calendar.cli",
    "backend.security.cli",
]

Handler = Callable[[argparse.Namespace, Runtime], int]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from backend.app import create_app
    from backend.edge import uvicorn_options

    settings = get_settings()
    # Where it listens, for the start-up hooks that print it (backend.staff.startup, local mode).
    os.environ["HOST"], os.environ["PORT"] = args.host, str(args.port)
    # Fail fast with a clear message before uvicorn starts.
    build_runtime(settings).close()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, **uvicorn_options(settings))
    return 0


def _worker(_args: argparse.Namespace, runtime: Runtime) -> int:
    import asyncio
    import signal

    from backend.startup import on_startup
    from backend.worker import QueueWorker

    on_startup(runtime)
    worker = QueueWorker(runtime)
    print(f"worker running job kinds: {', '.join(sorted(worker.registry.kinds)) or '(none)'}", flush=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await worker.run(stop)

    asyncio.run(main())
    return 0


def _db_upgrade(_args: argparse.Namespace, _runtime: Runtime) -> int:
    print("数据库结构已是最新 / schema is up to date")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser with every domain's sub-commands."""
    parser = argparse.ArgumentParser(prog="python -m backend", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(plain=_serve)
    sub.add_parser("worker", help="run the job worker").set_defaults(handler=_worker)
    db = sub.add_parser("db", help="database")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("upgrade", help="apply migrations").set_defaults(handler=_db_upgrade)
    for module in map(importlib.import_module, COMMAND_MODULES):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, build the runtime (migrating), run the command; clear messages, no tracebacks."""
    configure_logging()
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "plain", None):
            return int(args.plain(args))
        runtime = build_runtime(get_settings())
    except StartupError as exc:
        print(f"启动失败 / cannot start: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # the settings (e.g. a secret missing in production)
        problems = "; ".join(str(e["msg"]) for e in exc.errors(include_input=False))
        print(f"启动失败 / cannot start: settings invalid: {problems}", file=sys.stderr)
        return 2
    try:
        return int(args.handler(args, runtime))
    finally:
        runtime.close()
