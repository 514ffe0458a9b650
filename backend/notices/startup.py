"""Start-up of the notices domain: the notices sent about a claim join its timeline
(``claims.progress.register_timeline_source``), in the words of the configured notices file."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.claims.progress import ProgressClaim, TimelineEntry, register_timeline_source
from backend.notices.service import timeline_entries
from backend.notices.templates import load_book
from backend.runtime import Runtime

_notices_file = {"path": ""}


def _timeline(session: Session, claim: ProgressClaim) -> list[TimelineEntry]:
    return timeline_entries(session, claim, book=load_book(_notices_file["path"]))


def startup(runtime: Runtime) -> None:
    """Register the timeline source (once per process; the file is this runtime's)."""
    _notices_file["path"] = runtime.settings.notices.file
    register_timeline_source(_timeline)
