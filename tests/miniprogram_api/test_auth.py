"""Login, phone number, sessions and rate limits (M-01, M-02, M-03, M-09, M-10)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import threading
import time

import pytest
import redis
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import select

from backend.accounts.models import CustomerAccount
from backend.accounts.opendata import OpenDataError, decrypt_open_data
from backend.gateways.miniprogram import CodeInvalid, MiniProgramGateway
from tests.miniprogram_api.conftest import API, MP, Clock
from tests.support.fake_wechat import CANARY_SESSION_KEY, FakeWechat

# The official demo vector of WeChat's 开放数据校验与解密 (catalogue §1).
DEMO_APPID = "wx4f4bc4dec97d474b"
DEMO_KEY = "tiihtNczf5v6AKRyjwEUhQ=="
DEMO_IV = "r7BXXKkLb8qrSNn05n0qiA=="
DEMO_DATA = (
    "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lG"
    "OETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNl"
    "xuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r"
    "7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQ"
    "lVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew=="
)
DEMO_TS = 1477314187


def encrypt_open_data(obj: dict[str, object], session_key: str) -> tuple[str, str]:
    """What WeChat sends in the legacy form: AES-128-CBC, PKCS#7, key = the session key."""
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    clear = padder.update(json.dumps(obj).encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(base64.b64decode(session_key)), modes.CBC(iv)).encryptor()
    return base64.b64encode(enc.update(clear) + enc.finalize()).decode(), base64.b64encode(iv).decode()


# --- M-01 ------------------------------------------------------------------------------------------------
def test_m01_a_code_works_once(mp: MP) -> None:
    code = mp.fake.issue_login_code("o-once")
    assert mp.client.post(f"{API}/auth/login", json={"code": code}).status_code == 200
    again = mp.client.post(f"{API}/auth/login", json={"code": code})
    assert again.status_code == 401 and again.json()["error"]["code"] == "login_code_invalid"
    assert again.json()["error"]["message"] == "请重新登录"


def test_m01_a_code_older_than_five_minutes_is_refused(mp: MP) -> None:
    code = mp.fake.issue_login_code("o-old", at=time.time() - 301)
    assert mp.client.post(f"{API}/auth/login", json={"code": code}).status_code == 401


def test_m01_wechat_rate_limit_is_429_and_busy_is_retried_once_then_503(mp: MP) -> None:
    mp.fake.login_limit_per_min = 1
    mp.client.post(f"{API}/auth/login", json={"code": mp.fake.issue_login_code("o-busy")})
    r = mp.client.post(f"{API}/auth/login", json={"code": mp.fake.issue_login_code("o-busy")})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    mp.fake.login_limit_per_min = 100
    mp.fake.inject(-1, "/sns/jscode2session")
    assert (
        mp.client.post(f"{API}/auth/login", json={"code": mp.fake.issue_login_code("o-b2")}).status_code
        == 200
    )
    mp.fake.inject(-1, "/sns/jscode2session", times=2)
    r = mp.client.post(f"{API}/auth/login", json={"code": mp.fake.issue_login_code("o-b3")})
    assert r.status_code == 503 and r.json()["error"]["code"] == "wechat_unavailable"


def test_m01_two_concurrent_logins_with_one_code(fake_wx: FakeWechat) -> None:
    gw = MiniProgramGateway(
        app_id=fake_wx.app_id,
        app_secret=fake_wx.app_secret,
        redis_client=None,
        api_base_url=fake_wx.url,
        timeout_s=2.0,
    )
    code = fake_wx.issue_login_code("o-race")
    results: list[object] = []

    def go() -> None:
        try:
            results.append(gw.code_to_session(code).openid)
        except CodeInvalid as exc:
            results.append(exc.errcode)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, results)) == ["40029", "o-race"]


def test_m01_same_person_logging_in_twice_keeps_one_account(mp: MP) -> None:
    mp.login("o-twice", consent=False)
    mp.login("o-twice", consent=False)
    rows = mp.db.scalars(select(CustomerAccount).where(CustomerAccount.openid == "o-twice")).all()
    assert len(rows) == 1


# --- M-02 ------------------------------------------------------------------------------------------------
def test_m02_session_key_is_stored_encrypted_replaced_at_login_and_never_returned(mp: MP) -> None:
    code = mp.fake.issue_login_code("o-key")
    r = mp.client.post(f"{API}/auth/login", json={"code": code})
    assert CANARY_SESSION_KEY not in r.text and "session_key" not in r.text and "o-key" not in r.text
    row = mp.db.scalar(select(CustomerAccount).where(CustomerAccount.openid == "o-key"))
    assert row is not None and row.session_key_enc and CANARY_SESSION_KEY not in row.session_key_enc
    first = row.session_key_enc
    mp.client.post(
        f"{API}/auth/login", json={"code": mp.fake.issue_login_code("o-key", session_key=DEMO_KEY)}
    )
    mp.db.expire_all()
    row = mp.db.scalar(select(CustomerAccount).where(CustomerAccount.openid == "o-key"))
    assert row is not None and row.session_key_enc != first
    from backend.accounts.service import session_key_of

    assert session_key_of(row, cipher=mp.runtime.cipher) == DEMO_KEY
    token = r.json()["token"]
    assert CANARY_SESSION_KEY not in token and "o-key" not in base64.urlsafe_b64decode(token + "==").decode(
        "latin1"
    )


# --- M-03 ------------------------------------------------------------------------------------------------
def test_m03_official_demo_vector_decrypts_and_its_watermark_is_checked() -> None:
    data = decrypt_open_data(
        session_key=DEMO_KEY,
        encrypted_data=DEMO_DATA,
        iv=DEMO_IV,
        app_id=DEMO_APPID,
        now_ts=DEMO_TS + 60,
        max_age_s=600,
    )
    assert (
        data["openId"] == "oGZUI0egBJY1zhBYw2KhdUfwVJJE" and data["unionId"] == "ocMvos6NjeKLIBqg5Mr9QjxrP1FA"
    )
    assert data["watermark"] == {"timestamp": DEMO_TS, "appid": DEMO_APPID}
    for kwargs, code in (
        ({"app_id": "wx0000000000000000"}, "wrong_appid"),
        ({"now_ts": DEMO_TS + 601}, "stale"),
        ({"session_key": "BVe374/rie5Mf+w7kM5bYQ=="}, "does_not_decrypt"),
    ):
        args = {
            "session_key": DEMO_KEY,
            "encrypted_data": DEMO_DATA,
            "iv": DEMO_IV,
            "app_id": DEMO_APPID,
            "now_ts": DEMO_TS + 60,
            "max_age_s": 600,
            **kwargs,
        }
        with pytest.raises(OpenDataError) as err:
            decrypt_open_data(**args)  # type: ignore[arg-type]
        assert err.value.code == code


def test_m03_phone_by_button_code(mp: MP) -> None:
    headers = mp.login(consent=False)
    code = mp.fake.issue_phone_code("13912345678")
    r = mp.client.post(f"{API}/auth/phone", headers=headers, json={"code": code})
    assert r.status_code == 200 and r.json()["phone_masked"] == "139****5678"
    again = mp.client.post(f"{API}/auth/phone", headers=headers, json={"code": code})
    assert again.status_code == 400 and again.json()["error"]["code"] == "phone_code_invalid"


def test_m03_legacy_phone_form_checks_appid_freshness_and_session_key(mp: MP, clock: Clock) -> None:
    code = mp.fake.issue_login_code("o-legacy", session_key=DEMO_KEY)
    headers = {
        "Authorization": "Bearer " + mp.client.post(f"{API}/auth/login", json={"code": code}).json()["token"]
    }
    now = int(time.time())
    good = {
        "purePhoneNumber": "13912345678",
        "countryCode": "86",
        "watermark": {"appid": mp.fake.app_id, "timestamp": now},
    }
    data, iv = encrypt_open_data(good, DEMO_KEY)
    r = mp.client.post(f"{API}/auth/phone", headers=headers, json={"encrypted_data": data, "iv": iv})
    assert r.status_code == 200 and r.json()["phone_masked"] == "139****5678"
    other_app = encrypt_open_data({**good, "watermark": {"appid": "wxother", "timestamp": now}}, DEMO_KEY)
    r = mp.client.post(
        f"{API}/auth/phone", headers=headers, json=dict(zip(("encrypted_data", "iv"), other_app, strict=True))
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_open_data"
    clock.at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # the watermark is an hour old
    r = mp.client.post(f"{API}/auth/phone", headers=headers, json={"encrypted_data": data, "iv": iv})
    assert r.status_code == 409 and r.json()["error"]["code"] == "relogin_required"
    clock.at = None
    # The user logged in again meanwhile: a new session key; the old data no longer decrypts → 409, not 500.
    mp.client.post(f"{API}/auth/login", json={"code": mp.fake.issue_login_code("o-legacy")})
    r = mp.client.post(f"{API}/auth/phone", headers=headers, json={"encrypted_data": data, "iv": iv})
    assert r.status_code == 409 and r.json()["error"]["message"] == "请重新登录后再获取手机号"
    # The demo vector itself (someone else's app and time) is refused, never a 500.
    r = mp.client.post(
        f"{API}/auth/phone", headers=headers, json={"encrypted_data": DEMO_DATA, "iv": DEMO_IV}
    )
    assert r.status_code in (400, 409)


# --- M-10 ------------------------------------------------------------------------------------------------
def test_m10_tokens_are_opaque_revocable_and_expire(mp: MP) -> None:
    headers = mp.login(consent=False)
    assert mp.client.get(f"{API}/me", headers=headers).status_code == 200
    for bad in (
        "",
        "Bearer",
        "Bearer x",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
        "Basic " + base64.b64encode(b"a:b").decode(),
    ):
        r = mp.client.get(f"{API}/me", headers={"Authorization": bad})
        assert r.status_code == 401 and r.json()["error"]["message"] == "请重新登录", bad
    assert mp.client.post(f"{API}/auth/logout", headers=headers).json() == {"logged_out": True}
    assert mp.client.get(f"{API}/me", headers=headers).status_code == 401
    other = mp.login(consent=False)
    for key in mp.runtime.redis.scan_iter("mp:sess:*"):
        mp.runtime.redis.delete(key)  # the sliding expiry passed
    assert mp.client.get(f"{API}/me", headers=other).status_code == 401


def test_m10_a_deleted_account_cannot_use_its_token(mp: MP) -> None:
    headers = mp.login("o-gone", consent=False)
    row = mp.db.scalar(select(CustomerAccount).where(CustomerAccount.openid == "o-gone"))
    assert row is not None
    mp.db.delete(row)
    mp.db.commit()
    assert mp.client.get(f"{API}/me", headers=headers).status_code == 401


# --- M-09 ------------------------------------------------------------------------------------------------
def test_m09_per_user_and_per_ip_limits_answer_429_with_retry_after(mp: MP) -> None:
    mp.runtime.settings.miniprogram.rate_identity_per_user = (2, 3600)
    headers = mp.login()
    number = mp.person("陈阿婆")
    for _ in range(2):
        r = mp.client.post(
            f"{API}/insured",
            headers=headers,
            json={"name": "王五", "id_number": number, "relation": "parent"},
        )
        assert r.status_code == 404
    r = mp.client.post(
        f"{API}/insured", headers=headers, json={"name": "陈阿婆", "id_number": number, "relation": "parent"}
    )
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 3601
    assert r.json()["error"]["code"] == "rate_limited"
    mp.runtime.settings.miniprogram.rate_login_per_ip = (1, 60)
    mp.client.post(f"{API}/auth/login", json={"code": mp.fake.issue_login_code("o-ip1")})
    r = mp.client.post(f"{API}/auth/login", json={"code": mp.fake.issue_login_code("o-ip2")})
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_m09_redis_down_login_fails_closed_products_fail_open(mp: MP) -> None:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    mp.runtime.redis = dead
    r = mp.client.post(f"{API}/auth/login", json={"code": mp.fake.issue_login_code("o-down")})
    assert r.status_code == 503 and "Retry-After" in r.headers  # closed: no unlimited tries
    assert mp.client.get(f"{API}/products").status_code == 200  # read-only: open
    r = mp.client.get(f"{API}/me", headers={"Authorization": "Bearer " + "x" * 43})
    assert r.status_code == 503  # sessions unknown: 503, never a 401 that logs everyone out (F-R2)
