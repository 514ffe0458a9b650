"""The fast way for most notices: the first send of a WeChat template message, without a transaction.

On its first claim a ``notices.send`` row's queue message carries its key and payload (recipient, channel
order, parameters), so a notice whose first channel is the official account's template message needs no
read: render, one call with ``client_msg_id``, and the new notice row is written with the ``done`` mark in
a group commit (``backend.jobs.group``: one INSERT for the group's notices). Every other case (a later
attempt, SMS, a subscribe message, an unknown kind) goes the ordinary way (``sending.send_notice``); so
does what follows an unsent first try (the next channel, or a retry), from the notice row written here.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.hooks import FastOutcome, JobContext, JobRow
from backend.notices import channels
from backend.notices.models import Notice
from backend.notices.sending import backoff, book_of, channel_order, notice_values
from backend.notices.templates import ChannelTemplate, TemplateError
from backend.notices.words import words


def send_first(ctx: JobContext, row: JobRow) -> FastOutcome | None:
    """The first try of a notice whose first channel is a template message (see the module doc)."""
    book = book_of(ctx)
    to = row.payload.get("to") or {}
    try:
        kind = book.kind(str(row.payload.get("kind")))
    except TemplateError:
        return None
    order = channel_order(to=to, kind=kind, book=book, services=ctx.services)
    if not order or order[0] != "wechat_template":
        return None
    template = kind.wechat_template
    assert isinstance(template, ChannelTemplate)
    now = ctx.now()
    notice = notice_values(row, now)
    outcome = channels.send_wechat_template(ctx, key=row.key, openid=str(to["openid"]), template=template,
                                            values=words(book, notice["params"]))
    if outcome.result == "later":  # the rate limit: nothing happened, try again in a moment
        return FastOutcome(record=_nothing, retry_at=outcome.retry_at)
    notice["attempts"] = [{"channel": "wechat_template", "at": now.isoformat(), "outcome": outcome.result,
                           "code": outcome.code}]
    if outcome.result == "sent":
        notice.update(state="sent", channel="wechat_template", sent_at=now, provider_id=outcome.provider_id)
        retry_at = None
    elif outcome.result == "transient":
        retry_at = now + backoff(1)
    else:  # unreachable / failed: the next channel, the ordinary way
        retry_at = now

    return FastOutcome(record=_nothing, insert=(Notice.__table__, notice), retry_at=retry_at)


def _nothing(_session: Session) -> None:
    """Nothing to write through the session (the notice row is inserted with the group's)."""
