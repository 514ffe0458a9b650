"""The three channels: one provider call each, and what its answer means for the notice.

Outcomes: ``sent``; ``unreachable`` (this channel cannot reach this person: not following 43004,
refused or no acceptance left 43101, an invalid number) and ``failed`` (an error that a retry would
not cure: a quota, a configuration error) both move on to the next channel; ``transient`` (busy, a
network error with a de-duplicating key) retries the same channel; ``unknown`` (an SMS whose answer
never came) is settled by asking QuerySendDetails before any new send; ``later`` waits (quiet hours,
a daily or per-second limit) without counting as a failure.

Idempotency keys (catalogue F-W3): ``client_msg_id`` and ``OutId`` are derived from the notice key and
the channel, so every retry of the same notice on the same channel carries the same key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from backend.calendar.service import SHANGHAI
from backend.gateways.sms import SmsError
from backend.gateways.wechat import WechatApiError, WechatQuotaExceeded, WechatUnreachable
from backend.hooks import JobContext
from backend.notices import limits
from backend.notices.templates import ChannelTemplate, SmsTemplate
from backend.notifications import subscriptions

log = logging.getLogger(__name__)
SMS_NUMBER_PURPOSE = "notices.sms_number"
MINI_PROGRAM = "mini_program"  # the ledger's channel of the mini-program's openids


@dataclass(frozen=True)
class Outcome:
    result: str  # sent | unreachable | failed | transient | unknown | later
    code: str | None = None
    provider_id: str | None = None
    retry_at: dt.datetime | None = None


def idem_key(notice_key: str, channel: str) -> str:
    """The provider-side idempotency key of a notice on a channel (32 hex characters)."""
    return hashlib.sha256(f"{notice_key}\x00{channel}".encode()).hexdigest()[:32]


# One budget per Redis client, i.e. per worker process (``limits.RateBudget``: chunks of the shared count).
_BUDGETS: weakref.WeakKeyDictionary[Any, limits.RateBudget] = weakref.WeakKeyDictionary()


def _rate(ctx: JobContext, channel: str, *, fail_open: bool) -> Outcome | None:
    per_s = int(ctx.settings.notices.rate_per_s.get(channel, 0))
    budget = _BUDGETS.get(ctx.redis)
    if budget is None:
        budget = _BUDGETS.setdefault(ctx.redis, limits.RateBudget())
    if budget.take(ctx.redis, channel, per_s, fail_open=fail_open, second=int(ctx.now().timestamp())):
        return None
    return Outcome("later", code="rate", retry_at=ctx.now() + dt.timedelta(seconds=1))


def send_wechat_template(ctx: JobContext, *, key: str, openid: str, template: ChannelTemplate,
                         values: dict[str, Any]) -> Outcome:
    """An official-account template message with ``client_msg_id``."""
    gateway = ctx.services["wechat"]
    held = _rate(ctx, "wechat_template", fail_open=True)
    if held:
        return held
    page = template.page_for(values)
    mp_app = getattr(getattr(ctx.settings, "miniprogram", None), "app_id", "")
    program = {"appid": mp_app, "pagepath": page} if page and mp_app else None
    try:
        msgid = gateway.send_template(openid, template.template_id, template.data(values),
                                      miniprogram=program, client_msg_id=idem_key(key, "wechat_template"))
    except WechatUnreachable as exc:
        return Outcome("unreachable", code=str(exc.errcode))
    except WechatQuotaExceeded as exc:
        return Outcome("failed", code=str(exc.errcode))
    except WechatApiError as exc:
        if exc.errcode is None or exc.errcode == -1:
            return Outcome("transient", code=str(exc.errcode) if exc.errcode is not None else "network")
        return Outcome("failed", code=str(exc.errcode))
    return Outcome("sent", provider_id=msgid)


def send_subscribe(ctx: JobContext, session: Session, *, key: str, openid: str, template: ChannelTemplate,
                   values: dict[str, Any]) -> Outcome:
    """A mini-program subscribe message, only while the customer has an unused acceptance (the
    ledger, ``backend.notifications.subscriptions``: one acceptance for one notice, the same one again
    when the notice is retried)."""
    gateway = ctx.services["miniprogram"]
    held = _rate(ctx, "miniprogram_subscribe", fail_open=True)
    if held:
        return held
    if subscriptions.consume(session, channel=MINI_PROGRAM, openid=openid, template_id=template.template_id,
                             notice_key=key, now=ctx.now()) is None:
        return Outcome("unreachable", code="no_acceptance")
    state = getattr(getattr(ctx.settings, "miniprogram", None), "state", "formal")
    try:
        gateway.send_subscribe(openid, template.template_id, template.data(values),
                               page=template.page_for(values), state=state)
    except WechatUnreachable as exc:  # 43101: refused, or WeChat counts no acceptance left
        subscriptions.record_sent(session, notice_key=key, errcode=int(exc.errcode or 0), now=ctx.now())
        return Outcome("unreachable", code=str(exc.errcode))
    except WechatApiError as exc:
        # No de-duplicating key exists for subscribe messages: an unanswered send may have gone
        # out and used the acceptance, so it is not sent again on this channel.
        return Outcome("failed", code=str(exc.errcode) if exc.errcode is not None else "network")
    return Outcome("sent")


def _local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(SHANGHAI).date()


def send_sms(ctx: JobContext, *, key: str, phone: str, template: SmsTemplate, values: dict[str, Any],
             urgent: bool, check_first: bool) -> Outcome:
    """An SMS through Aliyun: quiet hours, the number's daily limit, the rate; when an earlier try's
    outcome is unknown (``check_first``), QuerySendDetails settles it before any new send."""
    gateway = ctx.services["sms"]
    cfg = ctx.settings.notices
    now = ctx.now()
    out_id = idem_key(key, "sms")
    if not urgent:
        until = limits.quiet_until(now, start_hour=cfg.quiet_start_hour, end_hour=cfg.quiet_end_hour)
        if until is not None:
            return Outcome("later", code="quiet_hours", retry_at=until)
    if check_first:
        days = {_local_day(now), _local_day(now - dt.timedelta(hours=1))}
        try:
            found = [f for day in sorted(days)
                     if (f := gateway.find_sent(phone=phone, out_id=out_id, day=day))]
        except SmsError as exc:
            return Outcome("unknown", code=exc.code or "query_failed",
                           retry_at=now + dt.timedelta(seconds=60))
        if found:
            return Outcome("sent", provider_id=found[0].biz_id, code="found_by_query")
    number = ctx.cipher.blind_index(phone, purpose=SMS_NUMBER_PURPOSE)
    try:
        room = limits.sms_daily_room(ctx.redis, number, limit=cfg.sms_daily_limit_per_number, now=now)
    except limits.REDIS_ERRORS:
        return Outcome("later", code="redis_down", retry_at=now + dt.timedelta(seconds=30))
    if room is not None:
        return Outcome("later", code="daily_limit", retry_at=room)
    held = _rate(ctx, "sms", fail_open=False)
    if held:
        return held
    try:
        biz_id = gateway.send(phone=phone, template_code=template.template_code,
                              params=template.values(values), out_id=out_id)
    except SmsError as exc:
        if exc.ambiguous:
            return Outcome("unknown", code=exc.code or "no_answer", retry_at=now + dt.timedelta(seconds=30))
        if exc.limited:
            return Outcome("later", code=exc.code, retry_at=now + dt.timedelta(hours=1))
        return Outcome("unreachable" if exc.code == "isv.MOBILE_NUMBER_ILLEGAL" else "failed", code=exc.code)
    limits.record_sms(ctx.redis, number, member=out_id, now=now)
    return Outcome("sent", provider_id=biz_id)
