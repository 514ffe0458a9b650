"""The mini-program subscribe-message ledger: one acceptance = one send.

Fed by ``subscribe_msg_popup_event`` (accept / reject per template), ``subscribe_msg_change_event``
(the user turned a template off in their settings) and the mini-program's own report of
``wx.requestSubscribeMessage``; a send takes one acceptance first (``take_acceptance``), so a notice
never goes out over this channel without one. ``subscribe_msg_sent_event`` reports a send's result
and changes nothing here (the acceptance was taken when it was sent).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.notifications.models import SubscribeAcceptance

MAX_BANKED = 50  # acceptances kept per user and template (WeChat counts them; we stop counting here)


def record_acceptance(session: Session, *, openid: str, template_id: str, accepted: bool,
                      now: dt.datetime | None = None) -> int:
    """A popup answer: ``accepted`` adds one send; a rejection changes nothing. The sends left."""
    now = now or utcnow()
    row = session.scalar(select(SubscribeAcceptance).where(SubscribeAcceptance.openid == openid,
                                                           SubscribeAcceptance.template_id == template_id))
    if row is None:
        row = SubscribeAcceptance(openid=openid, template_id=template_id, remaining=0, updated_at=now)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            return record_acceptance(session, openid=openid, template_id=template_id, accepted=accepted,
                                     now=now)
    if accepted:
        row.remaining, row.updated_at = min(MAX_BANKED, row.remaining + 1), now
    session.flush()
    return row.remaining


def record_turned_off(session: Session, *, openid: str, template_id: str,
                      now: dt.datetime | None = None) -> None:
    """The user turned this template off: no sends left."""
    session.execute(update(SubscribeAcceptance).where(SubscribeAcceptance.openid == openid,
                                                      SubscribeAcceptance.template_id == template_id)
                    .values(remaining=0, updated_at=now or utcnow()))


def take_acceptance(session: Session, *, openid: str, template_id: str,
                    now: dt.datetime | None = None) -> bool:
    """Use one acceptance for a send; False when none is left."""
    res = session.execute(update(SubscribeAcceptance)
                          .where(SubscribeAcceptance.openid == openid,
                                 SubscribeAcceptance.template_id == template_id,
                                 SubscribeAcceptance.remaining > 0)
                          .values(remaining=SubscribeAcceptance.remaining - 1, updated_at=now or utcnow())
                          .execution_options(synchronize_session=False))
    return bool(res.rowcount)  # type: ignore[attr-defined]


def acceptances_left(session: Session, *, openid: str, template_id: str) -> int:
    """Sends left for this user and template."""
    found = session.scalar(select(SubscribeAcceptance.remaining).where(
        SubscribeAcceptance.openid == openid, SubscribeAcceptance.template_id == template_id))
    return int(found or 0)
