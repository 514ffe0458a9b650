"""Notices: what was told about a claim, delivery receipts, and each customer's channel order.

* :func:`notices_for_claim` — the notices about a claim in plain words (for the customer asking
  the bot for progress, and for staff on the claim).
* :func:`sent_notice_lines` — the last notices sent about a claim, one short line each (the bot's
  progress answer); :func:`timeline_entries` — the same on the claim's timeline (mini-program).
* :func:`record_template_receipt` — a TEMPLATESENDJOBFINISH push; a failed delivery ("failed:user
  block") sends the notice again over the next channel.
* :func:`record_sms_reports` — Aliyun's SmsReport push (deduplicated); a failed delivery likewise.
* :func:`set_channel_order` / :func:`channel_order_of` — the order of channels per customer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.calendar.service import local_date
from backend.claims.progress import ProgressClaim, TimelineEntry
from backend.db import utcnow
from backend.errors import ServiceError
from backend.jobs import service as jobs
from backend.notices.models import ChannelOrder, Notice, SmsReceipt
from backend.notices.templates import CHANNELS, NoticeBook, render
from backend.notices.words import notice_brief, notice_text
from backend.outbox import SEND_KIND

MAX_SHOWN = 50


@dataclass(frozen=True)
class NoticeView:
    """One notice as told."""

    id: int
    kind: str
    text: str
    stage: str | None  # the claim's stage the notice told (its ``state`` parameter), if it told one
    state: str
    channel: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    receipt_status: str | None
    brief: str = ""  # the short words of a timeline entry or a progress line ("材料齐了，正在审核")


@lru_cache(maxsize=8)
def _notices_statement(sent_only: bool, limit: int) -> Select[Any]:
    """The notices about one claim (parameter ``claim_id``), newest first: the few columns shown, not
    whole rows; built once per shape (the claim detail reads this on every view)."""
    t = Notice.__table__  # the table's columns: a plain read, run without the ORM's machinery
    q = select(t.c.id, t.c.kind, t.c.params, t.c.state, t.c.channel, t.c.created_at, t.c.sent_at,
               t.c.receipt_status).where(t.c.subject_type == "claim", t.c.subject_id == bindparam("claim_id"))
    if sent_only:
        q = q.where(t.c.state == "sent")
    return q.order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit)


def notices_for_claim(session: Session, *, claim_id: int, book: NoticeBook, sent_only: bool = False,
                      limit: int = MAX_SHOWN) -> list[NoticeView]:
    """The notices about a claim, newest first (``sent_only``: what actually went out)."""
    q = _notices_statement(sent_only, max(1, min(limit, MAX_SHOWN)))
    return notice_views(session.connection().execute(q, {"claim_id": claim_id}), book=book)


def notice_views(rows: Iterable[Any], *, book: NoticeBook) -> list[NoticeView]:
    """The views of notices read as rows of :func:`_notices_statement`'s columns (id, kind, params, state,
    channel, created_at, sent_at, receipt_status), in their order."""
    return [NoticeView(id=n.id, kind=n.kind, text=notice_text(book, n.kind, n.params),
                       stage=str(n.params["state"]) if n.params.get("state") else None, state=n.state,
                       channel=n.channel, created_at=n.created_at, sent_at=n.sent_at,
                       receipt_status=n.receipt_status, brief=notice_brief(book, n.kind, n.params))
            for n in rows]


def _sent(session: Session, *, claim_id: int, limit: int) -> list[Notice]:
    q = (select(Notice).where(Notice.subject_type == "claim", Notice.subject_id == claim_id,
                              Notice.state == "sent", Notice.sent_at.is_not(None))
         .order_by(Notice.sent_at.desc(), Notice.id.desc()).limit(max(1, min(limit, MAX_SHOWN))))
    return list(session.scalars(q))


def _line(book: NoticeBook, notice: Notice) -> str:
    assert notice.sent_at is not None
    day = local_date(notice.sent_at)
    channel = book.channel_words.get(notice.channel or "", "")
    return render(book.words.get("sent_line", "{date} {brief}"),
                  {"date": f"{day.month}月{day.day}日", "channel": channel,
                   "brief": notice_brief(book, notice.kind, notice.params)})


def sent_notice_lines(session: Session, *, claim_id: int, book: NoticeBook, limit: int = 2) -> list[str]:
    """The last notices sent about a claim, newest first, one short line each ("12月1日 已发微信通知：…")."""
    return [_line(book, n) for n in _sent(session, claim_id=claim_id, limit=limit)]


def _entry(book: NoticeBook, *, channel: str | None, sent_at: dt.datetime, brief: str) -> TimelineEntry:
    words = book.channel_words.get(channel or "", "")
    return TimelineEntry(at=sent_at, kind="notice", title=f"已发{words}通知", detail=brief)


def timeline_entries(session: Session, claim: ProgressClaim, *, book: NoticeBook) -> list[TimelineEntry]:
    """The notices sent about ``claim`` as entries of its timeline (``claims.progress``)."""
    out = []
    for n in _sent(session, claim_id=claim.id, limit=MAX_SHOWN):
        assert n.sent_at is not None
        brief = notice_brief(book, n.kind, n.params)
        out.append(_entry(book, channel=n.channel, sent_at=n.sent_at, brief=brief))
    return out


def timeline_from(views: list[NoticeView], *, book: NoticeBook) -> list[TimelineEntry]:
    """The same entries as :func:`timeline_entries`, from notices the caller has already read with
    :func:`notices_for_claim` (the claim detail shows both: one read, not two)."""
    return [_entry(book, channel=v.channel, sent_at=v.sent_at, brief=v.brief)
            for v in views if v.state == "sent" and v.sent_at is not None]


def _send_again(session: Session, notice: Notice, *, channel: str, code: str, now: dt.datetime) -> None:
    """The channel reported it could not deliver: the notice goes out over the next one."""
    job = jobs.get_job(session, kind=SEND_KIND, key=notice.key)
    if job is None:
        return
    notice.state = "pending"
    notice.attempts = [*notice.attempts, {"channel": channel, "at": now.isoformat(), "outcome": "unreachable",
                                          "code": code[:40]}]
    jobs.schedule(session, kind=SEND_KIND, key=notice.key, due_at=now, payload=job.payload, now=now)


def record_template_receipt(session: Session, *, msgid: str, status: str,
                            now: dt.datetime | None = None) -> Notice | None:
    """Apply a TEMPLATESENDJOBFINISH (``success`` / ``failed:user block`` / ``failed: system
    failed``) to its notice, once; the notice, if it is ours."""
    now = now or utcnow()
    notice = session.scalar(select(Notice).where(Notice.provider_id == msgid,
                                                 Notice.channel == "wechat_template"))
    if notice is None or notice.receipt_status is not None:
        return notice
    notice.receipt_status, notice.receipt_at = status[:64], now
    if status.startswith("failed") and notice.state == "sent":
        _send_again(session, notice, channel="wechat_template", code=status, now=now)
    session.flush()
    return notice


def apply_wechat_receipts(session: Session, *, limit: int = 1000, now: dt.datetime | None = None) -> int:
    """Apply the TEMPLATESENDJOBFINISH receipts the webhook stored (``wechat_template_receipts``) to
    the notices they answer; how many. (The webhook stores them; this joins them to our notices.)"""
    from backend.conversations.models import WechatTemplateReceipt

    q = (select(WechatTemplateReceipt.template_msgid, WechatTemplateReceipt.status)
         .join(Notice, Notice.provider_id == WechatTemplateReceipt.template_msgid)
         .where(Notice.channel == "wechat_template", Notice.receipt_status.is_(None)).limit(limit))
    applied = 0
    for msgid, status in session.execute(q).all():
        if record_template_receipt(session, msgid=msgid, status=status, now=now) is not None:
            applied += 1
    return applied


@dataclass(frozen=True)
class SmsReport:
    """One entry of an Aliyun SmsReport push."""

    biz_id: str
    out_id: str
    success: bool
    err_code: str
    report_time: str


def parse_sms_reports(body: Any) -> list[SmsReport]:
    """The entries of an SmsReport body (a JSON array); ServiceError when it is not one."""
    if not isinstance(body, list):
        raise ServiceError("invalid_report", "回执格式不对", detail={"expected": "a JSON array"})
    out = []
    for item in body:
        if not isinstance(item, dict) or not item.get("biz_id"):
            raise ServiceError("invalid_report", "回执格式不对", detail={"expected": "biz_id in every entry"})
        success = item.get("success")
        out.append(SmsReport(biz_id=str(item["biz_id"])[:64], out_id=str(item.get("out_id") or "")[:64],
                             success=success is True or str(success).lower() == "true",
                             err_code=str(item.get("err_code") or "")[:64],
                             report_time=str(item.get("report_time") or "")[:32]))
    return out


def record_sms_reports(session: Session, *, reports: list[SmsReport], now: dt.datetime | None = None) -> int:
    """Store SmsReport entries once each and apply them to their notices; how many were new."""
    now = now or utcnow()
    new = 0
    for r in reports:
        try:
            with session.begin_nested():
                session.add(SmsReceipt(biz_id=r.biz_id, out_id=r.out_id, success=r.success,
                                       err_code=r.err_code, report_time=r.report_time, received_at=now))
        except IntegrityError:
            continue
        new += 1
        notice = session.scalar(select(Notice).where(Notice.provider_id == r.biz_id, Notice.channel == "sms"))
        if notice is None or notice.receipt_status is not None:
            continue
        notice.receipt_status, notice.receipt_at = ("DELIVERED" if r.success else r.err_code or "FAILED"), now
        if not r.success and notice.state == "sent":
            _send_again(session, notice, channel="sms", code=r.err_code or "failed", now=now)
    session.flush()
    return new


def set_channel_order(session: Session, *, openid: str, channels: list[str],
                      now: dt.datetime | None = None) -> list[str]:
    """Set the order of channels a customer wants (unknown or repeated channels refused)."""
    clean = [c.strip() for c in channels]
    if not clean or len(set(clean)) != len(clean) or any(c not in CHANNELS for c in clean):
        raise ServiceError("invalid_channels", "通知方式不对", detail={"allowed": list(CHANNELS)})
    row = session.scalar(select(ChannelOrder).where(ChannelOrder.openid == openid))
    if row is None:
        row = ChannelOrder(openid=openid, channels=clean, updated_at=now or utcnow())
        session.add(row)
    else:
        row.channels, row.updated_at = clean, now or utcnow()
    session.flush()
    return clean


def channel_order_of(session: Session, *, openid: str, book: NoticeBook) -> list[str]:
    """A customer's order of channels (the default unless they set one)."""
    found = session.scalar(select(ChannelOrder.channels).where(ChannelOrder.openid == openid))
    return list(found) if found else list(book.channels_default)
