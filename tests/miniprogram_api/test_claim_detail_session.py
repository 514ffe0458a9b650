"""The claim detail checks the session and counts the read itself (one worker-thread hop, a plain read of
the account's identity): the same answers as every other endpoint's dependency (M-09, M-10, M-04)."""

from __future__ import annotations

from sqlalchemy import select

from backend.accounts.models import CustomerAccount
from tests.miniprogram_api.conftest import API, MP


def test_m10_claim_detail_refuses_a_bad_revoked_or_deleted_token_with_401(mp: MP) -> None:
    headers, claim = mp.claim()
    url = f"{API}/claims/{claim['id']}"
    assert mp.client.get(url, headers=headers).status_code == 200
    for bad in ("", "Bearer", "Bearer x", "Bearer " + "x" * 200):
        r = mp.client.get(url, headers={"Authorization": bad})
        assert r.status_code == 401 and r.json()["error"]["message"] == "请重新登录", bad
    assert mp.client.post(f"{API}/auth/logout", headers=headers).status_code == 200
    assert mp.client.get(url, headers=headers).status_code == 401
    gone = mp.login("o-detail-gone", consent=False)
    row = mp.db.scalar(select(CustomerAccount).where(CustomerAccount.openid == "o-detail-gone"))
    assert row is not None
    mp.db.delete(row)
    mp.db.commit()
    r = mp.client.get(url, headers=gone)  # the account is gone: not logged in, before any visibility check
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_logged_in"


def test_m09_claim_detail_reads_count_against_the_per_user_read_limit(mp: MP) -> None:
    headers, claim = mp.claim()
    other, _ = mp.claim()
    mp.runtime.settings.miniprogram.rate_read_per_user = (2, 3600)
    url = f"{API}/claims/{claim['id']}"
    assert [mp.client.get(url, headers=headers).status_code for _ in range(2)] == [200, 200]
    r = mp.client.get(url, headers=headers)
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 3601
    assert r.json()["error"]["code"] == "rate_limited"
    assert mp.client.get(url, headers=other).status_code == 404  # another user: own count, still M-04


def test_claim_detail_shows_the_same_claim_as_the_list_and_the_report(mp: MP) -> None:
    headers, reported = mp.claim()
    detail = mp.client.get(f"{API}/claims/{reported['id']}", headers=headers).json()
    assert {k: v for k, v in reported.items() if k != "coverage"} == {
        k: v for k, v in detail.items() if k != "coverage"
    }
    assert detail["coverage"] is None and reported["coverage"] is not None
    listed = mp.client.get(f"{API}/claims", headers=headers).json()["items"][0]
    assert listed == {k: detail[k] for k in listed}


def test_m09_claim_detail_and_other_reads_share_one_count(mp: MP) -> None:
    # The detail counts in its session check's round trip (a Redis script); the key is the same one the
    # other reads count on, so a read elsewhere uses up the detail's allowance and the other way round.
    headers, claim = mp.claim()
    mp.runtime.settings.miniprogram.rate_read_per_user = (3, 3600)
    url = f"{API}/claims/{claim['id']}"
    assert mp.client.get(f"{API}/me", headers=headers).status_code == 200
    assert [mp.client.get(url, headers=headers).status_code for _ in range(2)] == [200, 200]
    assert mp.client.get(url, headers=headers).status_code == 429
    assert mp.client.get(f"{API}/me", headers=headers).status_code == 429


def test_f_r2_claim_detail_with_redis_down_is_503_not_401(mp: MP) -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    headers, claim = mp.claim()
    mp.runtime.redis = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    r = mp.client.get(f"{API}/claims/{claim['id']}", headers=headers)
    assert r.status_code == 503 and "Retry-After" in r.headers
