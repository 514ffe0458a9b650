"""The claim detail's reads for a session, in one statement on PostgreSQL: the claim's shown columns with
its checklist, files, history and notices as JSON arrays (``json_agg`` of scalar subqueries, each in its
usual order), one round trip where other databases take four (the claim with its checklist, the files,
the notices; the history is read by ``claims.progress``). Either way a :class:`DetailRead`, or None when
the session's account may not see the claim (or is gone)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, ScalarSelect, Select, bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import KeyedColumnElement

from backend.accounts import access
from backend.claims.models import Claim, ClaimEvent, ClaimMaterial
from backend.notices.models import Notice
from backend.notices.service import MAX_SHOWN, NoticeView, notice_views, notices_for_claim
from backend.notices.templates import NoticeBook
from miniprogram_api.claim_view import (
    ATTACHMENT_COLUMNS,
    CLAIM_FIELDS,
    FILES_OF_CLAIM,
    SHOWN_COLUMNS,
    AttachmentRow,
    ChecklistRow,
    ShownClaim,
)


@dataclass(frozen=True, slots=True)
class FileRow:
    """A file of the claim, as :data:`claim_view.ATTACHMENT_COLUMNS` read it."""

    id: int
    material_id: str | None
    content_type: str
    size_bytes: int | None
    status: str
    received_at: dt.datetime


@dataclass(frozen=True, slots=True)
class EventRow:
    """An event of the claim's history, the columns its timeline shows."""

    kind: str
    to_state: str | None
    at: dt.datetime
    reason_enc: str | None


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """A notice about the claim, the columns its view shows."""

    id: int
    kind: str
    params: dict[str, Any]
    state: str
    channel: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    receipt_status: str | None


@dataclass(frozen=True, slots=True)
class DetailRead:
    """What the claim detail shows, read: ``events`` None when ``claims.progress`` is to read them."""

    claim: ShownClaim
    files: Sequence[AttachmentRow]
    events: Sequence[EventRow] | None
    notices: list[NoticeView]


def _json_rows(
    q: Select[Any], order: Callable[[Any], Sequence[ColumnElement[Any]]]
) -> ScalarSelect[Any]:
    """The rows of ``q`` as one JSON array of arrays (of its columns), ordered by ``order`` of its columns."""
    sub = q.subquery()
    cols: list[KeyedColumnElement[Any]] = list(sub.c)
    rows = func.json_agg(aggregate_order_by(func.json_build_array(*cols), *order(sub.c)))
    return select(rows).scalar_subquery()


@lru_cache(maxsize=1)
def _statement() -> Select[Any]:
    items, events, notices = ClaimMaterial.__table__, ClaimEvent.__table__, Notice.__table__
    claim_id: BindParameter[int] = bindparam("claim_id")
    shown = [Claim.__mapper__.columns[c.key].label(c.key) for c in SHOWN_COLUMNS]
    checklist = select(items.c.id, items.c.material_id, items.c.label, items.c.received).where(
        items.c.claim_id == claim_id
    )
    files = select(*ATTACHMENT_COLUMNS).where(ATTACHMENT_COLUMNS[0].table.c.claim_id == claim_id)
    history = select(events.c.id, events.c.kind, events.c.to_state, events.c.at, events.c.reason_enc).where(
        events.c.claim_id == claim_id
    )
    sent = (
        select(notices.c.id, notices.c.kind, notices.c.params, notices.c.state, notices.c.channel,
               notices.c.created_at, notices.c.sent_at, notices.c.receipt_status)
        .where(notices.c.subject_type == "claim", notices.c.subject_id == claim_id)
        .order_by(notices.c.created_at.desc(), notices.c.id.desc())
        .limit(MAX_SHOWN)
    )
    return select(
        *shown,
        _json_rows(checklist, lambda c: (c.id,)).label("checklist_json"),
        _json_rows(files, lambda c: (c.id,)).label("files_json"),
        _json_rows(history, lambda c: (c.id,)).label("events_json"),
        _json_rows(sent, lambda c: (c.created_at.desc(), c.id.desc())).label("notices_json"),
    ).where(*access.session_claim_where())


def _at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


def _from_postgres(row: Any, book: NoticeBook) -> DetailRead:
    m = row._mapping
    items = m["checklist_json"] or ()
    claim = ShownClaim(
        **{name: m[name] for name in CLAIM_FIELDS},
        materials=tuple(ChecklistRow(mid, label, received) for _, mid, label, received in items),
    )
    files = [FileRow(i, mid, ctype, size, status, _at(at))
             for i, mid, ctype, size, status, at in m["files_json"] or ()]
    events = [EventRow(kind, to, _at(at), reason) for _, kind, to, at, reason in m["events_json"] or ()]
    sent = [NoticeRow(i, kind, params, state, channel, _at(created), sent_at and _at(sent_at), receipt)
            for i, kind, params, state, channel, created, sent_at, receipt in m["notices_json"] or ()]
    return DetailRead(claim=claim, files=files, events=events, notices=notice_views(sent, book=book))


def read_detail(
    db: Session, *, account_id: int, openid: str, claim_id: int, book: NoticeBook
) -> DetailRead | None:
    """What the detail of claim ``claim_id`` shows, if account ``account_id`` is still there with
    ``openid`` (a session's) and may see it; None otherwise."""
    read = read_in_one if db.get_bind().dialect.name == "postgresql" else read_apart
    return read(db, account_id=account_id, openid=openid, claim_id=claim_id, book=book)


def read_in_one(
    db: Session, *, account_id: int, openid: str, claim_id: int, book: NoticeBook
) -> DetailRead | None:
    """:func:`read_detail` in one statement (PostgreSQL)."""
    params = {"claim_id": claim_id, "account_id": account_id, "openid": openid}
    row = db.connection().execute(_statement(), params).one_or_none()
    return None if row is None else _from_postgres(row, book)


def read_apart(
    db: Session, *, account_id: int, openid: str, claim_id: int, book: NoticeBook
) -> DetailRead | None:
    """:func:`read_detail` in a statement per table (any database)."""
    rows = access.session_claim(db, account_id=account_id, openid=openid, claim_id=claim_id,
                                columns=SHOWN_COLUMNS)
    if not rows:
        return None
    files: Sequence[AttachmentRow] = db.connection().execute(FILES_OF_CLAIM, {"claim_id": claim_id}).all()
    return DetailRead(claim=ShownClaim.from_rows(rows), files=files, events=None,
                      notices=notices_for_claim(db, claim_id=claim_id, book=book))
