"""The ``notices.send`` job: deliver one notice, one provider call per run.

Each run creates the notice row if it is new (keyed like its job), picks the first channel of the
customer's order that has not been tried (a template and a way to reach them must exist), makes
one call and records the outcome in the notice. Then:
- sent → done;
- unreachable / failed → the next channel at once (``RetryLater`` now), or the notice failed
  (dead-lettered for staff) when no channel is left;
- transient → the same channel after a backoff with jitter, up to ``wechat_attempts`` tries;
- unknown / later → the same channel at the time given.

A run that died after its provider call and before its commit leaves the job ``running`` until its
lease passes (catalogue F-W3 "unknown"); the next run of that job (``attempts`` > 1) re-sends a
WeChat template message with the same ``client_msg_id`` (de-duplicated by WeChat for 10 minutes) and
asks QuerySendDetails for an SMS's ``OutId`` before sending it again.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.hooks import JobContext, JobRow, PermanentFailure, RetryLater
from backend.notices import channels
from backend.notices.models import Notice
from backend.notices.templates import (
    CHANNELS,
    ChannelTemplate,
    NoticeBook,
    NoticeKind,
    SmsTemplate,
    load_book,
)
from backend.notices.words import words

FINAL = frozenset({"sent", "unreachable", "failed"})
RESEND = "resend"


def book_of(ctx: JobContext) -> NoticeBook:
    return load_book(ctx.settings.notices.file)


def notice_values(row: JobRow, now: dt.datetime) -> dict[str, Any]:
    """Every column of the notice row of a send job (pending, nothing tried yet)."""
    p = row.payload
    subject_type, subject_id = p["subject"]
    # Its time is the change's (when the outbox row was written), not the first send's.
    created = dt.datetime.fromisoformat(p["at"]) if p.get("at") else now
    return {"key": row.key, "kind": p["kind"], "subject_type": subject_type, "subject_id": int(subject_id),
            "params": p.get("params", {}), "urgent": bool(p.get("urgent")), "state": "pending",
            "channel": None, "provider_id": None, "receipt_status": None, "receipt_at": None,
            "attempts": [], "created_at": created, "updated_at": now, "sent_at": None}


def new_notice(row: JobRow, now: dt.datetime) -> Notice:
    """The notice row of a send job, not yet added to a session."""
    return Notice(**notice_values(row, now))


def _notice(session: Session, row: JobRow, now: dt.datetime) -> Notice:
    found = session.scalar(select(Notice).where(Notice.key == row.key))
    if found is not None:
        return found
    notice = new_notice(row, now)
    try:
        with session.begin_nested():
            session.add(notice)
    except IntegrityError:  # written meanwhile by a run whose lease had passed
        again = session.scalar(select(Notice).where(Notice.key == row.key))
        assert again is not None
        return again
    return notice


def channel_order(*, to: dict[str, Any], kind: NoticeKind, book: NoticeBook,
                  services: dict[str, Any]) -> list[str]:
    """The channels that can carry this notice to this person, in their order (the customer's, as it
    was when the notice was written, then the default)."""
    order: list[str] = list(book.channels_default)
    pref = [c for c in to.get("channels") or [] if c in CHANNELS]
    if pref:
        order = pref + [c for c in order if c not in pref]
    off = set(to.get("off") or [])  # the customer turned WeChat or SMS off (their channel choices)
    usable = {
        "wechat_template": bool(to.get("openid") and to.get("app") == "official_account"
                                and kind.wechat_template and "wechat" in services),
        "miniprogram_subscribe": bool(to.get("openid") and to.get("app") == "miniprogram"
                                      and kind.miniprogram_subscribe and "miniprogram" in services),
        "sms": bool(to.get("phone_enc") and kind.sms and "sms" in services),
    }
    return [c for c in order if usable[c] and not (c in off or (c != "sms" and "wechat" in off))]


def _since_resend(attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last = max((i for i, a in enumerate(attempts) if a.get("outcome") == RESEND), default=-1)
    return attempts[last + 1:]


def backoff(tries: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(300.0, 5.0 * 2 ** max(0, tries - 1)) * (0.5 + random.random()))


def send_notice(ctx: JobContext, session: Session, row: JobRow) -> None:
    """The handler of ``notices.send`` (see the module doc)."""
    now = ctx.now()
    notice = _notice(session, row, now)
    if notice.state == "sent":
        return
    if notice.state == "failed":  # staff resent a dead-lettered notice: every channel again
        notice.attempts = [*notice.attempts, {"outcome": RESEND, "at": now.isoformat()}]
        notice.state = "pending"
    book = book_of(ctx)
    kind = book.kind(notice.kind)
    to: dict[str, Any] = row.payload.get("to", {})
    recent = _since_resend(notice.attempts)
    done = {a["channel"] for a in recent if a.get("outcome") in FINAL}
    remaining = [c for c in channel_order(to=to, kind=kind, book=book, services=ctx.services)
                 if c not in done]
    if not remaining:
        _fail(notice, now)
        raise PermanentFailure("no channel could deliver the notice")
    channel = remaining[0]
    mine = [a for a in recent if a.get("channel") == channel]
    earlier_unknown = bool(mine) and mine[-1].get("outcome") == "unknown"
    outcome = _call(ctx, session, notice, kind, channel, to, check_first=row.attempts > 1 or earlier_unknown)
    entry = {"channel": channel, "at": now.isoformat(), "outcome": outcome.result, "code": outcome.code}
    notice.attempts = [*notice.attempts, entry]
    notice.updated_at = now
    if outcome.result == "sent":
        notice.state, notice.channel, notice.sent_at = "sent", channel, now
        notice.provider_id, notice.receipt_status, notice.receipt_at = outcome.provider_id, None, None
        status = _early_receipt(session, notice)
        if status is None or not status.startswith("failed"):
            return
        # WeChat accepted it but could not deliver (the user blocks the account's messages).
        notice.state = "pending"
        notice.attempts = [*notice.attempts, {"channel": channel, "at": now.isoformat(),
                                              "outcome": "unreachable", "code": status[:40]}]
        outcome = channels.Outcome("unreachable", code=status[:40])
    if outcome.result in ("unreachable", "failed"):
        if len(remaining) > 1:
            raise RetryLater(now, f"{channel} {outcome.result} ({outcome.code}): next channel")
        _fail(notice, now)
        raise PermanentFailure(f"{channel} {outcome.result} ({outcome.code}); no channel left")
    if outcome.result == "transient":
        tries = sum(1 for a in mine if a.get("outcome") == "transient") + 1
        if tries >= ctx.settings.notices.wechat_attempts:
            entry["outcome"] = "failed"  # enough: the next channel
            notice.attempts = [*notice.attempts[:-1], entry]
            if len(remaining) > 1:
                raise RetryLater(now, f"{channel}: {tries} transient errors, next channel")
            _fail(notice, now)
            raise PermanentFailure(f"{channel}: {tries} transient errors; no channel left")
        raise RetryLater(now + backoff(tries), f"{channel} transient ({outcome.code})")
    raise RetryLater(outcome.retry_at or now + dt.timedelta(seconds=30),
                     f"{channel} {outcome.result} ({outcome.code})")


def _fail(notice: Notice, now: dt.datetime) -> None:
    notice.state, notice.updated_at = "failed", now


def _call(ctx: JobContext, session: Session, notice: Notice, kind: NoticeKind, channel: str,
          to: dict[str, Any], *, check_first: bool) -> channels.Outcome:
    values = words(book_of(ctx), notice.params)
    template = kind.channel(channel)
    if channel == "wechat_template":
        assert isinstance(template, ChannelTemplate)
        return channels.send_wechat_template(ctx, key=notice.key, openid=to["openid"], template=template,
                                             values=values)
    if channel == "miniprogram_subscribe":
        assert isinstance(template, ChannelTemplate)
        return channels.send_subscribe(ctx, session, key=notice.key, openid=to["openid"], template=template,
                                       values=values)
    assert isinstance(template, SmsTemplate)
    phone = ctx.cipher.decrypt(to["phone_enc"], purpose=to["phone_purpose"])
    return channels.send_sms(ctx, key=notice.key, phone=phone, template=template, values=values,
                             urgent=notice.urgent or kind.urgent, check_first=check_first)


def _early_receipt(session: Session, notice: Notice) -> str | None:
    """A TEMPLATESENDJOBFINISH that arrived before this send committed (it can): its status."""
    if notice.channel != "wechat_template" or not notice.provider_id:
        return None
    from backend.conversations.models import WechatTemplateReceipt

    receipt = session.scalar(select(WechatTemplateReceipt).where(
        WechatTemplateReceipt.template_msgid == notice.provider_id))
    if receipt is None:
        return None
    notice.receipt_status, notice.receipt_at = receipt.status, receipt.received_at
    return receipt.status


def dead_notice(_ctx: JobContext, session: Session, row: JobRow) -> None:
    """A dead-lettered send job (e.g. every attempt crashed): its notice is failed."""
    notice = session.scalar(select(Notice).where(Notice.key == row.key))
    if notice is not None and notice.state != "sent":
        notice.state = "failed"
