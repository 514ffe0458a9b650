"""The console's web pages: ``/console/`` (agents) and ``/console/dashboard`` (supervisors).

Plain HTML, CSS and JavaScript served from ``backend/handoff/static`` (no build step, no CDN, no
inline script: the app's Content-Security-Policy allows only same-origin scripts and styles). The
pages hold no data; they log in and talk to ``/api/console`` (``backend.handoff.api``). In local mode
``/`` leads to the agent console. Mounted in ``backend.routers``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = frozenset({"console.js", "console_cases.js", "console_reveal.js", "console_work.js", "dashboard.js",
                    "dashboard_charts.js", "dashboard_takeover.js", "common.js", "console.css"})
# Vendored files that are served (paths under static/vendor/); the rest of the folder (licences,
# READMEs) is for people reading the repository.
VENDOR = frozenset({"echarts-6.1.0/echarts.min.js"})
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8"}
_IMMUTABLE = "public, max-age=31536000, immutable"

router = APIRouter(include_in_schema=False)


def _file(name: str, *, cache: str = "no-cache") -> FileResponse:
    path = STATIC / name
    return FileResponse(path, media_type=_TYPES[path.suffix], headers={"Cache-Control": cache})


@router.get("/console")
def console_bare() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/")
def console_page() -> FileResponse:
    """The agent console: login, queue, my conversations, the chat."""
    return _file("console.html")


@router.get("/console/dashboard")
def dashboard_page() -> FileResponse:
    """The supervisor dashboard."""
    return _file("dashboard.html")


@router.get("/console/static/{name}")
def console_asset(name: str) -> FileResponse:
    """The pages' scripts and style sheet (a fixed list: nothing else under the folder is served)."""
    if name not in ASSETS:
        raise HTTPException(status_code=404)
    return _file(name)


@router.get("/console/static/vendor/{path:path}")
def vendor_asset(path: str) -> FileResponse:
    """A vendored library file (a fixed list, versioned paths: cached for a year)."""
    if path not in VENDOR:
        raise HTTPException(status_code=404)
    return _file(f"vendor/{path}", cache=_IMMUTABLE)


@router.get("/")
def root(request: Request) -> RedirectResponse:
    """Local mode: ``/`` leads to the agent console (elsewhere there is nothing at ``/``)."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None or runtime.settings.mode != "local":
        raise HTTPException(status_code=404)
    return RedirectResponse("/console/", status_code=307)
