"""A claim as its customer follows it: stage, next step with its date, checklist and timeline.

The timeline is the claim's own history (only the kinds a customer should see; staff flags and
internal notes stay inside) merged with entries from other sources registered with
:func:`register_timeline_source`: the notices issue adds the progress notices sent, without this
module knowing about notices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import yaml
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar, local_date
from backend.claims.models import ClaimAttachment, ClaimEvent
from backend.claims.states import ClaimState, label
from backend.privacy.freetext import row_free_text
from backend.privacy.service import is_medical_material
from backend.security.crypto import CryptoError, FieldCipher
from config.settings import CONFIG_DIR

FINISHED = frozenset(
    {ClaimState.PAID.value, ClaimState.CLOSED.value, ClaimState.WITHDRAWN.value, ClaimState.REJECTED.value}
)
_REASON_SHOWN = frozenset(
    {ClaimState.REJECTED.value, ClaimState.WITHDRAWN.value, ClaimState.MATERIALS_PENDING.value}
)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One thing that happened, in the customer's words."""

    at: dt.datetime
    kind: str
    title: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class NextStep:
    """What happens next, and by when (working-day deadlines fall on a local date)."""

    kind: str
    text: str
    due_date: dt.date | None = None
    provisional: bool = False
    working_days_left: int | None = None


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One required document."""

    material_id: str
    label: str
    received: bool
    medical: bool
    files: int


class _MaterialRow(Protocol):
    @property
    def material_id(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def received(self) -> bool: ...


class ProgressClaim(Protocol):
    """What the progress of a claim reads of it: a Claim, or a read of these columns with its checklist
    (``miniprogram_api.claim_view.ShownClaim``)."""

    @property
    def id(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def deadline_kind(self) -> str | None: ...
    @property
    def deadline_date(self) -> dt.date | None: ...
    @property
    def deadline_provisional(self) -> bool: ...
    @property
    def materials(self) -> Sequence[_MaterialRow]: ...


@dataclass
class ClaimProgress:
    """Everything the claim detail screen shows."""

    claim: ProgressClaim
    stage: str
    stage_label: str
    stage_text: str
    next_step: NextStep
    checklist: list[ChecklistItem]
    timeline: list[TimelineEntry] = field(default_factory=list)


TimelineSource = Callable[[Session, ProgressClaim], list[TimelineEntry]]
_SOURCES: list[TimelineSource] = []


def register_timeline_source(source: TimelineSource) -> None:
    """Add entries from elsewhere (e.g. notices sent) to every claim's timeline (once per source)."""
    if source not in _SOURCES:
        _SOURCES.append(source)


@lru_cache(maxsize=1)
def _copy() -> dict[str, Any]:
    mp: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "miniprogram.yaml").read_text(encoding="utf-8"))
    dialogue: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "dialogue.yaml").read_text(encoding="utf-8"))
    return {"next_step": mp["next_step"], "timeline": mp["timeline"], "stage_words": dialogue["stage_words"]}


class _FileRow(Protocol):
    @property
    def material_id(self) -> str | None: ...


class _EventRow(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def to_state(self) -> str | None: ...
    @property
    def at(self) -> dt.datetime: ...
    @property
    def reason_enc(self) -> str | None: ...


# The columns of an event the timeline shows (a row of these, not a whole ClaimEvent).
# Built once (a statement is a value; only the claim's id changes), of the table's columns: a plain
# read of four columns, run on the connection, without the ORM's machinery.
_EVENT_TABLE = ClaimEvent.__table__
_EVENTS = (
    select(_EVENT_TABLE.c.kind, _EVENT_TABLE.c.to_state, _EVENT_TABLE.c.at, _EVENT_TABLE.c.reason_enc)
    .where(_EVENT_TABLE.c.claim_id == bindparam("claim_id"))
    .order_by(_EVENT_TABLE.c.id)
)


def _event_entry(event: _EventRow, cipher: FieldCipher) -> TimelineEntry | None:
    titles = _copy()["timeline"]
    if event.kind not in titles:
        return None
    detail = None
    if event.kind == "transition":
        title = titles["transition"].format(stage=label(event.to_state or ""))
        if event.to_state in _REASON_SHOWN:
            detail = _reason(event, cipher)
    else:
        title = titles[event.kind]
        if event.kind == "material":
            detail = _reason(event, cipher)
    return TimelineEntry(at=event.at, kind=event.kind, title=title, detail=detail)


def _reason(event: _EventRow, cipher: FieldCipher) -> str | None:
    try:
        return row_free_text(ClaimEvent, event, "reason", cipher=cipher)
    except CryptoError:
        return None


def next_step(claim: ProgressClaim, *, calendar: WorkingCalendar, now: dt.datetime) -> NextStep:
    """The next step of ``claim`` with its date and the working days left."""
    words = _copy()["next_step"]
    if claim.state in FINISHED:
        return NextStep(kind="none", text=words["none"])
    waiting = claim.state in (ClaimState.REPORTED.value, ClaimState.MATERIALS_PENDING.value)
    if claim.deadline_kind is None or (
        waiting and claim.deadline_kind != "report_ack" and any(not m.received for m in claim.materials)
    ):
        return NextStep(kind="materials", text=words["materials"])
    due = claim.deadline_date
    left = None
    if due is not None:
        today = local_date(now)
        left = 0 if due <= today else calendar.working_days_between(today, due)
    return NextStep(
        kind=claim.deadline_kind,
        text=words.get(claim.deadline_kind, words["none"]),
        due_date=due,
        provisional=claim.deadline_provisional,
        working_days_left=left,
    )


def claim_progress(
    session: Session, *, claim: ProgressClaim, cipher: FieldCipher, calendar: WorkingCalendar,
    now: dt.datetime, attachments: Sequence[_FileRow] | None = None,
    sourced: list[TimelineEntry] | None = None, events: Iterable[_EventRow] | None = None,
) -> ClaimProgress:
    """The stage, next step, checklist (with files per item) and timeline of one claim. ``sourced``: the
    entries of the registered sources (today only the notices sent), when the caller has already read
    them; the sources are then not asked. ``events``: the claim's history (of these columns, oldest
    first), when the caller has already read it."""
    files: dict[str | None, int] = {}
    if attachments is None:
        attachments = session.execute(
            select(ClaimAttachment.material_id).where(ClaimAttachment.claim_id == claim.id)
        ).all()
    for material_id in (a.material_id for a in attachments):
        files[material_id] = files.get(material_id, 0) + 1
    checklist = [
        ChecklistItem(
            material_id=m.material_id,
            label=m.label,
            received=m.received,
            medical=is_medical_material(m.material_id),
            files=files.get(m.material_id, 0),
        )
        for m in claim.materials
    ]
    if events is None:
        events = session.connection().execute(_EVENTS, {"claim_id": claim.id})
    timeline = [e for e in (_event_entry(ev, cipher) for ev in events) if e is not None]
    if sourced is not None:
        timeline.extend(sourced)
    else:
        for source in _SOURCES:
            timeline.extend(source(session, claim))
    timeline.sort(key=lambda e: e.at)
    return ClaimProgress(
        claim=claim,
        stage=claim.state,
        stage_label=label(claim.state),
        stage_text=_copy()["stage_words"].get(claim.state, label(claim.state)),
        next_step=next_step(claim, calendar=calendar, now=now),
        checklist=checklist,
        timeline=timeline,
    )
