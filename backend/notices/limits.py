"""When a notice may go out: SMS quiet hours, the per-number daily SMS limit, and per-channel rates.

Counters live in Redis, shared by every worker. When Redis cannot be asked, SMS is held back (it
fails closed: catalogue F-R2) and WeChat goes on (its own platform limits still apply).
"""

from __future__ import annotations

import datetime as dt
import random
import time

import redis

from backend.calendar.service import SHANGHAI

REDIS_ERRORS = (redis.RedisError, OSError)


def quiet_until(now: dt.datetime, *, start_hour: int, end_hour: int) -> dt.datetime | None:
    """The end of the quiet hours (Asia/Shanghai) if ``now`` falls in them, else None.

    The time is spread over the first half hour so a night's held-back SMS do not all go at 08:00."""
    local = now.astimezone(SHANGHAI)
    hour = local.hour
    over_midnight = start_hour > end_hour
    quiet = (hour >= start_hour or hour < end_hour) if over_midnight else start_hour <= hour < end_hour
    if not quiet:
        return None
    day = local.date() if hour < end_hour else local.date() + dt.timedelta(days=1)
    end = dt.datetime.combine(day, dt.time(end_hour), tzinfo=SHANGHAI).astimezone(dt.UTC)
    return end + dt.timedelta(seconds=random.uniform(0, 1800))


def take_rate(client: redis.Redis, channel: str, per_s: int, *, fail_open: bool) -> bool:
    """One send of ``channel`` within its per-second rate (a counter per second across workers)."""
    if per_s <= 0:
        return True
    key = f"notices:rate:{channel}:{int(time.time())}"
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 2)
        count = int(pipe.execute()[0])
    except REDIS_ERRORS:
        return fail_open
    return count <= per_s


def sms_daily_room(client: redis.Redis, number_key: str, *, limit: int,
                   now: dt.datetime) -> dt.datetime | None:
    """None when ``number_key`` may get one more SMS in the rolling 24 hours, else when it may.

    Raises RedisError when Redis cannot be asked (the caller holds the SMS back)."""
    key = f"notices:sms:{number_key}"
    since = now.timestamp() - 86400
    pipe = client.pipeline(transaction=False)
    pipe.zremrangebyscore(key, 0, since)
    pipe.zrange(key, 0, -1, withscores=True)
    _, sent = pipe.execute()
    if len(sent) < limit:
        return None
    oldest = min(score for _m, score in sent)
    return dt.datetime.fromtimestamp(oldest + 86400 + 60, tz=dt.UTC)


def record_sms(client: redis.Redis, number_key: str, *, member: str, now: dt.datetime) -> None:
    """Count one SMS sent to ``number_key`` (best effort: the provider's own limit still holds)."""
    key = f"notices:sms:{number_key}"
    try:
        pipe = client.pipeline(transaction=False)
        pipe.zadd(key, {member: now.timestamp()})
        pipe.expire(key, 2 * 86400)
        pipe.execute()
    except REDIS_ERRORS:
        pass
