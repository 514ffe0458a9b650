"""The subscribe-message ledger (see ``backend.notifications.models``): record, count, consume.

* :func:`record_choices`: what the user chose for each template (mini-program report, or the official
  account's popup/change events). Each ``accept`` from a popup adds one grant; a change event only
  updates the choice (it grants nothing), and ``reject``/``ban`` there voids what was left.
* :func:`consume`: take one grant for one notice (idempotent per notice key: a retried send uses the
  same grant); None when there is none, so the sender falls back to another channel.
* :func:`give_back`: the send failed before WeChat delivered it: the grant is usable again.
* :func:`record_sent`: the delivery result of a notice's send: 43101 (refused) voids its grant.
* :func:`record_delivery`: a ``subscribe_msg_sent_event`` report (WeChat's send API gives no message id
  to match it with, so it settles the oldest send of that template to that user still without one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.errors import ServiceError
from backend.notifications.models import (
    ChannelPreference,
    SubscriptionChoice,
    SubscriptionDelivery,
    SubscriptionGrant,
)

STATUSES = ("accept", "reject", "ban", "filter")
SOURCES = ("miniprogram", "oa_popup", "oa_change")
MAX_TEMPLATES = 3  # wx.requestSubscribeMessage asks for at most 3 templates at once


@dataclass(frozen=True, slots=True)
class Choice:
    """One template's result as WeChat reports it."""

    template_id: str
    status: str
    always: bool = False


@dataclass(frozen=True, slots=True)
class TemplateBalance:
    """What is left for one template."""

    template_id: str
    available: int
    status: str | None
    always: bool


def _check(choice: Choice) -> None:
    if choice.status not in STATUSES:
        raise ServiceError(
            "invalid_subscription_status",
            "订阅结果不对",
            detail={"field": "status", "allowed": list(STATUSES)},
        )
    if not choice.template_id or len(choice.template_id) > 128:
        raise ServiceError("invalid_template_id", "消息模板编号不对", detail={"field": "template_id"})


def record_choices(
    session: Session,
    *,
    channel: str,
    openid: str,
    choices: Iterable[Choice],
    source: str,
    now: dt.datetime | None = None,
) -> list[TemplateBalance]:
    """Record the user's choices; returns the balance of each template named."""
    now = now or utcnow()
    items = list(choices)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if not items or (len(items) > MAX_TEMPLATES and source == "miniprogram"):
        raise ServiceError(
            "invalid_subscription_report",
            f"一次最多报告{MAX_TEMPLATES}个消息模板",
            detail={"field": "results"},
        )
    for choice in items:
        _check(choice)
    for choice in items:
        _set_choice(session, channel=channel, openid=openid, choice=choice, source=source, now=now)
        if choice.status == "accept" and source != "oa_change":
            session.add(
                SubscriptionGrant(
                    channel=channel,
                    openid=openid,
                    template_id=choice.template_id,
                    source=source,
                    granted_at=now,
                )
            )
        elif choice.status in ("reject", "ban") and source == "oa_change":
            session.execute(
                update(SubscriptionGrant)
                .where(
                    SubscriptionGrant.channel == channel,
                    SubscriptionGrant.openid == openid,
                    SubscriptionGrant.template_id == choice.template_id,
                    SubscriptionGrant.consumed_at.is_(None),
                    SubscriptionGrant.voided_at.is_(None),
                )
                .values(voided_at=now)
            )
    session.flush()
    return balances(session, channel=channel, openid=openid, template_ids=[c.template_id for c in items])


def _set_choice(
    session: Session, *, channel: str, openid: str, choice: Choice, source: str, now: dt.datetime
) -> None:
    row = session.scalar(
        select(SubscriptionChoice).where(
            SubscriptionChoice.channel == channel,
            SubscriptionChoice.openid == openid,
            SubscriptionChoice.template_id == choice.template_id,
        )
    )
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    SubscriptionChoice(
                        channel=channel,
                        openid=openid,
                        template_id=choice.template_id,
                        status=choice.status,
                        always=choice.always,
                        source=source,
                        updated_at=now,
                    )
                )
                session.flush()
            return
        except IntegrityError:  # a concurrent report of the same template
            row = session.scalar(
                select(SubscriptionChoice).where(
                    SubscriptionChoice.channel == channel,
                    SubscriptionChoice.openid == openid,
                    SubscriptionChoice.template_id == choice.template_id,
                )
            )
            assert row is not None
    row.status, row.always, row.source, row.updated_at = choice.status, choice.always, source, now


def _open_grants(channel: str, openid: str, template_id: str):  # type: ignore[no-untyped-def]
    return select(SubscriptionGrant).where(
        SubscriptionGrant.channel == channel,
        SubscriptionGrant.openid == openid,
        SubscriptionGrant.template_id == template_id,
        SubscriptionGrant.consumed_at.is_(None),
        SubscriptionGrant.voided_at.is_(None),
    )


def balances(
    session: Session, *, channel: str, openid: str, template_ids: Iterable[str] | None = None
) -> list[TemplateBalance]:
    """Sends left and the latest choice, per template (all the user's templates when none named)."""
    choices = {
        c.template_id: c
        for c in session.scalars(
            select(SubscriptionChoice).where(
                SubscriptionChoice.channel == channel, SubscriptionChoice.openid == openid
            )
        )
    }
    counts = dict(
        session.execute(
            select(SubscriptionGrant.template_id, func.count())
            .where(
                SubscriptionGrant.channel == channel,
                SubscriptionGrant.openid == openid,
                SubscriptionGrant.consumed_at.is_(None),
                SubscriptionGrant.voided_at.is_(None),
            )
            .group_by(SubscriptionGrant.template_id)
        ).all()
    )
    names = (
        list(dict.fromkeys(template_ids)) if template_ids is not None else sorted(set(choices) | set(counts))
    )
    out = []
    for tid in names:
        c = choices.get(tid)
        out.append(
            TemplateBalance(
                template_id=tid,
                available=int(counts.get(tid, 0)),
                status=c.status if c else None,
                always=bool(c.always) if c else False,
            )
        )
    return out


def consume(
    session: Session,
    *,
    channel: str,
    openid: str,
    template_id: str,
    notice_key: str,
    now: dt.datetime | None = None,
) -> int | None:
    """Use one grant for ``notice_key`` (the same one again for the same key); None when none is left."""
    again = session.scalar(select(SubscriptionGrant.id).where(SubscriptionGrant.consumed_by == notice_key))
    if again is not None:
        return int(again)
    now = now or utcnow()
    for _ in range(3):  # another sender may take the same oldest grant: try the next one
        grant_id = session.scalar(
            _open_grants(channel, openid, template_id)
            .order_by(SubscriptionGrant.granted_at, SubscriptionGrant.id)
            .with_only_columns(SubscriptionGrant.id)
            .limit(1)
        )
        if grant_id is None:
            return None
        try:
            with session.begin_nested():
                done = session.execute(
                    update(SubscriptionGrant)
                    .where(SubscriptionGrant.id == grant_id, SubscriptionGrant.consumed_at.is_(None))
                    .values(consumed_at=now, consumed_by=notice_key)
                )
        except IntegrityError:  # the same notice consumed concurrently
            again = session.scalar(
                select(SubscriptionGrant.id).where(SubscriptionGrant.consumed_by == notice_key)
            )
            return int(again) if again is not None else None
        if getattr(done, "rowcount", 0) == 1:
            return int(grant_id)
    return None


def give_back(session: Session, *, notice_key: str) -> bool:
    """The send of ``notice_key`` did not reach WeChat: its grant is usable again."""
    done = session.execute(
        update(SubscriptionGrant)
        .where(SubscriptionGrant.consumed_by == notice_key)
        .values(consumed_at=None, consumed_by=None)
    )
    return bool(getattr(done, "rowcount", 0))


def record_sent(session: Session, *, notice_key: str, errcode: int, now: dt.datetime | None = None) -> None:
    """WeChat's delivery report for a notice: 43101 (refused) voids the grant it used."""
    if errcode == 43101:
        session.execute(
            update(SubscriptionGrant)
            .where(SubscriptionGrant.consumed_by == notice_key)
            .values(voided_at=now or utcnow())
        )


def record_delivery(
    session: Session,
    *,
    channel: str,
    openid: str,
    template_id: str,
    msgid: str,
    errcode: int,
    status: str,
    now: dt.datetime | None = None,
) -> int | None:
    """Store WeChat's report of one send once (per ``msgid``); the grant it settled, if any.

    It settles the oldest consumed grant of that user and template without a report; 43101 (refused)
    voids that grant. A report that settles no send of ours is kept all the same.
    """
    known = session.scalar(select(SubscriptionDelivery).where(SubscriptionDelivery.msgid == msgid))
    if known is not None:
        return known.grant_id
    now = now or utcnow()
    for attempt in range(3):  # a concurrent report may settle the same send: the next one, then none
        grant_id = _unreported_send(session, channel, openid, template_id) if attempt < 2 else None
        row = SubscriptionDelivery(channel=channel, openid=openid, template_id=template_id, msgid=msgid,
                                   errcode=errcode, status=status[:64], grant_id=grant_id, received_at=now)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            known = session.scalar(select(SubscriptionDelivery).where(SubscriptionDelivery.msgid == msgid))
            if known is not None:  # the same report, stored concurrently
                return known.grant_id
            continue
        if grant_id is not None and errcode == 43101:
            session.execute(
                update(SubscriptionGrant).where(SubscriptionGrant.id == grant_id).values(voided_at=now)
            )
        return grant_id
    return None


def _unreported_send(session: Session, channel: str, openid: str, template_id: str) -> int | None:
    """The oldest consumed grant of that user and template that has no delivery report yet."""
    return session.scalar(
        select(SubscriptionGrant.id)
        .where(
            SubscriptionGrant.channel == channel,
            SubscriptionGrant.openid == openid,
            SubscriptionGrant.template_id == template_id,
            SubscriptionGrant.consumed_at.is_not(None),
            ~exists().where(SubscriptionDelivery.grant_id == SubscriptionGrant.id),
        )
        .order_by(SubscriptionGrant.consumed_at, SubscriptionGrant.id)
        .limit(1)
    )


def preferences(session: Session, *, channel: str, openid: str) -> ChannelPreference:
    """The customer's channel choices (defaults: WeChat and SMS both allowed; not stored until changed)."""
    row = session.scalar(
        select(ChannelPreference).where(
            ChannelPreference.channel == channel, ChannelPreference.openid == openid
        )
    )
    return row or ChannelPreference(channel=channel, openid=openid, wechat=True, sms=True)


def set_preferences(
    session: Session,
    *,
    channel: str,
    openid: str,
    wechat: bool | None = None,
    sms: bool | None = None,
    now: dt.datetime | None = None,
) -> ChannelPreference:
    """Change the customer's channel choices (None leaves one as it is)."""
    row = session.scalar(
        select(ChannelPreference).where(
            ChannelPreference.channel == channel, ChannelPreference.openid == openid
        )
    )
    if row is None:
        row = ChannelPreference(channel=channel, openid=openid, wechat=True, sms=True)
        session.add(row)
    if wechat is not None:
        row.wechat = wechat
    if sms is not None:
        row.sms = sms
    row.updated_at = now or utcnow()
    session.flush()
    return row
