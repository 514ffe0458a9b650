"""The per-channel rate taken from the shared Redis counter in chunks (``limits.RateBudget``)."""

from __future__ import annotations

import redis

from backend.notices.limits import RateBudget
from tests.support.servers import dead_redis


class _Counting:
    """A Redis client that counts the pipelines it runs (the round trips)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.trips = 0

    def pipeline(self, **kwargs: object) -> object:
        self.trips += 1
        return self.client.pipeline(**kwargs)  # type: ignore[arg-type]


SECOND = 1_796_000_000  # a second by the job's clock; the budget never reads the machine's own
def test_two_processes_never_exceed_the_rate_and_ask_redis_once_per_chunk(redis_client: redis.Redis) -> None:
    a, b = RateBudget(chunk=25), RateBudget(chunk=25)  # two worker processes sharing one counter
    counting = _Counting(redis_client)
    granted = [budget.take(counting, "wechat_template", 1000, fail_open=True,  # type: ignore[arg-type]
                           second=SECOND)
               for _ in range(700) for budget in (a, b)]
    assert sum(granted) == 1000  # the whole rate, and not one more
    assert not any(granted[1000:])
    # 40 chunks of 25 granted; after that each budget knows the second is used up without asking.
    assert counting.trips == 40 + 2


def test_a_low_rate_is_taken_one_send_at_a_time(redis_client: redis.Redis) -> None:
    a, b = RateBudget(chunk=25), RateBudget(chunk=25)
    granted = [budget.take(redis_client, "sms", 10, fail_open=False, second=SECOND)
               for _ in range(10) for budget in (a, b)]
    # One at a time: neither process holds sends it will not make while the other waits.
    assert granted[:10] == [True] * 10 and not any(granted[10:])


def test_a_new_second_brings_a_new_budget(redis_client: redis.Redis) -> None:
    budget, other = RateBudget(chunk=25), RateBudget(chunk=25)
    taken = [budget.take(redis_client, "sms", 1, fail_open=False, second=SECOND) for _ in range(2)]
    assert taken == [True, False]
    assert not other.take(redis_client, "sms", 1, fail_open=False, second=SECOND)  # shared: used up
    assert budget.take(redis_client, "sms", 1, fail_open=False, second=SECOND + 1)
    assert not other.take(redis_client, "sms", 1, fail_open=False, second=SECOND + 1)


def test_without_redis_wechat_goes_on_and_sms_is_held() -> None:
    down = dead_redis()
    budget = RateBudget()
    assert budget.take(down, "wechat_template", 100, fail_open=True, second=SECOND)
    assert not budget.take(down, "sms", 100, fail_open=False, second=SECOND)
