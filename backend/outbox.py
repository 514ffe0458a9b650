"""The notices outbox: writing notices in the transaction of the change that causes them.

Domains call these functions (claims, complaints, home visits, attachments); each writes one
``notices.send`` job row (``backend.jobs``) keyed by the notice key, so a retried change writes the
notice once. This module reads only the attributes it is given: it imports no domain's models.

The recipient is resolved now and carried by the job: an openid and the app it belongs to (the
official account or the mini-program), the customer's order of channels if they set one, and the
phone number still encrypted (its cipher text and purpose), so the sender needs no look-up and never
stores a number in clear.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sqlalchemy import JSON, Boolean, String, column, select, table
from sqlalchemy.orm import Session

from backend.calendar.service import SHANGHAI, Deadline, WorkingCalendar, local_date
from backend.jobs import service as jobs

SEND_KIND = "notices.send"
PROGRESS_KIND = "notices.claim_progress"
NOTICE_HOUR = 10  # scheduled notices go out at 10:00 Asia/Shanghai
OPEN_CLAIM_STATES = frozenset({"reported", "materials_pending", "under_review", "approved"})
APPS = {"official_account": "official_account", "mini_program": "miniprogram"}  # channel → app


@dataclass(frozen=True)
class Recipient:
    """Who a notice goes to: an openid of one app, and/or an encrypted phone number."""

    openid: str | None = None
    app: str | None = None  # official_account | miniprogram
    phone_enc: str | None = None
    phone_purpose: str | None = None

    def as_payload(self, choice: dict[str, list[str]] | None = None) -> dict[str, Any]:
        """The ``to`` of a send job, with the customer's choice when they made one (``channels``: their
        order; ``off``: ``wechat`` / ``sms`` they turned off)."""
        out: dict[str, Any] = {k: v for k, v in asdict(self).items() if v}
        for name, value in (choice or {}).items():
            if value:
                out[name] = list(value)
        return out


# The customers' choices, read here as plain tables so the domains writing notices need not import the
# notices domain: their order of channels (backend.notices.models.ChannelOrder) and whether they want
# WeChat or SMS at all (backend.notifications.models.ChannelPreference).
_ORDERS = table("notice_channel_preferences", column("openid", String), column("channels", JSON))
_CHOICES = table("channel_preferences", column("openid", String), column("wechat", Boolean),
                 column("sms", Boolean))


def channel_orders(session: Session, openids: list[str]) -> dict[str, dict[str, list[str]]]:
    """The choices of each of these customers who made one (two queries for them all)."""
    wanted = sorted({o for o in openids if o})
    if not wanted:
        return {}
    out: dict[str, dict[str, list[str]]] = {}
    for openid, channels in session.execute(select(_ORDERS.c.openid, _ORDERS.c.channels)
                                            .where(_ORDERS.c.openid.in_(wanted))):
        out.setdefault(str(openid), {})["channels"] = list(channels)
    for openid, wechat, sms in session.execute(select(_CHOICES.c.openid, _CHOICES.c.wechat, _CHOICES.c.sms)
                                               .where(_CHOICES.c.openid.in_(wanted))):
        off = [name for name, on in (("wechat", wechat), ("sms", sms)) if on is False]
        if off:
            out.setdefault(str(openid), {})["off"] = off
    return out


class ClaimLike(Protocol):
    id: int
    version: int
    case_no: str
    state: str
    channel: str
    reporter_openid: str | None
    reporter_phone_enc: str | None
    deadline_date: dt.date | None
    deadline_provisional: bool
    standards: dict[str, Any]


def local_time_on(day: dt.date, hour: int = NOTICE_HOUR) -> dt.datetime:
    """``hour``:00 Asia/Shanghai on ``day``, in UTC."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI).astimezone(dt.UTC)


def enqueue_notice(
    session: Session,
    *,
    key: str,
    kind: str,
    subject_type: str,
    subject_id: int,
    params: dict[str, Any],
    recipient: Recipient,
    now: dt.datetime,
    due_at: dt.datetime | None = None,
    urgent: bool = False,
) -> None:
    """Write one notice into the outbox (once per key: a second call changes nothing)."""
    orders = channel_orders(session, [recipient.openid]) if recipient.openid else {}
    to = recipient.as_payload(orders.get(recipient.openid or ""))
    payload = {"kind": kind, "subject": [subject_type, subject_id], "params": params, "to": to,
               "urgent": urgent, "at": now.isoformat()}
    jobs.schedule(session, kind=SEND_KIND, key=key, due_at=due_at or now, payload=payload, replace=False,
                  now=now)


def claim_recipient(claim: ClaimLike, *, phone_purpose: str) -> Recipient:
    """The reporter of a claim: the openid of the app they reported in, and their phone."""
    app = APPS.get(claim.channel)
    return Recipient(openid=claim.reporter_openid if app else None, app=app,
                     phone_enc=claim.reporter_phone_enc, phone_purpose=phone_purpose)


def claim_params(claim: ClaimLike) -> dict[str, Any]:
    """What a claim notice says: case number, state, and the expected date of the next step."""
    params: dict[str, Any] = {"case_no": claim.case_no, "state": claim.state}
    if claim.deadline_date is not None and claim.state in ("under_review", "approved"):
        params["date"] = claim.deadline_date.isoformat()
        params["provisional"] = bool(claim.deadline_provisional)
    return params


def progress_every(claim: ClaimLike) -> int:
    """Working days between two progress notices (the product's standard when reported)."""
    return int(claim.standards.get("progress_notice_every_working_days", 3))


def next_progress_at(claim: ClaimLike, *, calendar: WorkingCalendar,
                     now: dt.datetime) -> tuple[dt.datetime, Deadline]:
    """When the next periodic progress notice is due: N working days after today, at 10:00."""
    deadline = calendar.add_working_days(local_date(now), progress_every(claim))
    return local_time_on(deadline.date), deadline


def notify_claim_change(session: Session, *, claim: ClaimLike, calendar: WorkingCalendar, now: dt.datetime,
                        phone_purpose: str, followup_days: int | None = None) -> None:
    """After a claim changed state: a notice now (replacing one about an earlier state not sent yet:
    two changes in a row are one notice), and the periodic progress timer moved on (or stopped when
    the claim is no longer open; a follow-up question is due after it closed)."""
    key = f"claim:{claim.id}:v{claim.version}:update"
    jobs.cancel_waiting(session, kind=SEND_KIND, key_prefix=f"claim:{claim.id}:v", key_suffix=":update",
                        keep=key, now=now)
    enqueue_notice(session, key=key, kind="claim_update",
                   subject_type="claim", subject_id=claim.id, params=claim_params(claim),
                   recipient=claim_recipient(claim, phone_purpose=phone_purpose), now=now)
    if claim.state in OPEN_CLAIM_STATES:
        due, _ = next_progress_at(claim, calendar=calendar, now=now)
        jobs.schedule(session, kind=PROGRESS_KIND, key=str(claim.id), due_at=due,
                      payload={"phone_purpose": phone_purpose}, now=now)
    else:
        jobs.cancel(session, kind=PROGRESS_KIND, key=str(claim.id), now=now)
    if claim.state == "closed":
        days = followup_days or int(claim.standards.get("followup_after_close_days", 7))
        # Within the week after closing: half-way, at 10:00.
        day = local_date(now) + dt.timedelta(days=max(1, days // 2))
        enqueue_notice(session, key=f"claim:{claim.id}:followup", kind="claim_followup",
                       subject_type="claim", subject_id=claim.id, params={"case_no": claim.case_no},
                       recipient=claim_recipient(claim, phone_purpose=phone_purpose), now=now,
                       due_at=local_time_on(day))


def arm_claim_progress(session: Session, *, claim: ClaimLike, calendar: WorkingCalendar, now: dt.datetime,
                       phone_purpose: str) -> None:
    """A new claim: its first periodic progress notice N working days from now."""
    due, _ = next_progress_at(claim, calendar=calendar, now=now)
    jobs.schedule(session, kind=PROGRESS_KIND, key=str(claim.id), due_at=due,
                  payload={"phone_purpose": phone_purpose}, now=now)
