"""When a notice may go out: SMS quiet hours, the per-number daily SMS limit, and per-channel rates.

Counters live in Redis, shared by every worker. When Redis cannot be asked, SMS is held back (it
fails closed: catalogue F-R2) and WeChat goes on (its own platform limits still apply).
"""

from __future__ import annotations

import datetime as dt
import random
import threading

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


class RateBudget:
    """Per-second sends of each channel taken from the shared counter in chunks, not one by one.

    Each channel's counter (``notices:rate:<channel>:<second>``) is shared by every worker; this
    process adds a chunk to it at once (one ``INCRBY``) and spends what it got during the same second.
    What it did not spend is lost at the second's end, so the workers together never send more than
    the rate in any second (they may send a little less). The chunk is at most 1/20 of the rate, so a
    low rate is taken one send at a time, as before."""

    def __init__(self, *, chunk: int = 25) -> None:
        self.chunk = chunk
        self._lock = threading.Lock()
        self._left: dict[str, tuple[int, int]] = {}  # channel → (second, sends left in it)

    def take(self, client: redis.Redis, channel: str, per_s: int, *, fail_open: bool, second: int) -> bool:
        """One send of ``channel`` within its per-second rate (see the class doc); ``second`` is the
        current second by the job's clock (whole seconds since the epoch), so every worker counts the
        same seconds as the rest of the job's work."""
        if per_s <= 0:
            return True
        with self._lock:
            now = second
            second, left = self._left.get(channel, (now, 0))
            if second == now and left != 0:  # -1: the rate is used up for this second
                if left > 0:
                    self._left[channel] = (now, left - 1)
                return left > 0
            chunk = max(1, min(self.chunk, per_s // 20))
            try:
                count = _incr(client, f"notices:rate:{channel}:{now}", chunk)
            except REDIS_ERRORS:
                return fail_open
            got = max(0, min(chunk, per_s - (count - chunk)))
            self._left[channel] = (now, got - 1 if got else -1)
            return got > 0


def _incr(client: redis.Redis, key: str, by: int) -> int:
    pipe = client.pipeline(transaction=False)
    pipe.incrby(key, by)
    pipe.expire(key, 2)
    return int(pipe.execute()[0])


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
