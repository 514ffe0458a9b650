"""The per-channel rate taken from the shared Redis counter in chunks (``limits.RateBudget``)."""

from __future__ import annotations

import time

import redis

from backend.notices.limits import RateBudget


class _Counting:
    """A Redis client that counts the pipelines it runs (the round trips)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.trips = 0

    def pipeline(self, **kwargs: object) -> object:
        self.trips += 1
        return self.client.pipeline(**kwargs)  # type: ignore[arg-type]


def _fresh_second() -> None:
    """Wait for the start of a second, so a test's takes fall within one."""
    time.sleep(1.0 - time.time() % 1.0 + 0.01)


def test_two_processes_never_exceed_the_rate_and_ask_redis_once_per_chunk(redis_client: redis.Redis) -> None:
    a, b = RateBudget(chunk=25), RateBudget(chunk=25)  # two worker processes sharing one counter
    counting = _Counting(redis_client)
    _fresh_second()
    second = int(time.time())
    granted = [budget.take(counting, "wechat_template", 1000, fail_open=True)  # type: ignore[arg-type]
               for _ in range(700) for budget in (a, b)]
    assert int(time.time()) == second, "the takes spilled over a second; the machine is too busy"
    assert sum(granted) == 1000  # the whole rate, and not one more
    assert not any(granted[1000:])
    # 40 chunks of 25 granted; after that each budget knows the second is used up without asking.
    assert counting.trips == 40 + 2


def test_a_low_rate_is_taken_one_send_at_a_time(redis_client: redis.Redis) -> None:
    a, b = RateBudget(chunk=25), RateBudget(chunk=25)
    _fresh_second()
    second = int(time.time())
    granted = [budget.take(redis_client, "sms", 10, fail_open=False) for _ in range(10) for budget in (a, b)]
    assert int(time.time()) == second
    # One at a time: neither process holds sends it will not make while the other waits.
    assert granted[:10] == [True] * 10 and not any(granted[10:])


def test_a_new_second_brings_a_new_budget(redis_client: redis.Redis) -> None:
    budget = RateBudget(chunk=25)
    _fresh_second()
    assert [budget.take(redis_client, "sms", 1, fail_open=False) for _ in range(2)] == [True, False]
    _fresh_second()
    assert budget.take(redis_client, "sms", 1, fail_open=False)


def test_without_redis_wechat_goes_on_and_sms_is_held() -> None:
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    budget = RateBudget()
    assert budget.take(down, "wechat_template", 100, fail_open=True)
    assert not budget.take(down, "sms", 100, fail_open=False)
