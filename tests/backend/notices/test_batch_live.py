"""Exactly once, end to end, through real worker processes (``python -m backend worker``), the real
Redis stream and PostgreSQL, counted at the fake WeChat and Aliyun SMS servers:

* a worker SIGKILLed in the middle of a 5,000-notice batch, another started (F-W1, F-W3);
* Redis killed in the middle of a batch and started again, empty (F-R3: nothing lost, nothing doubled).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from backend.db import make_engine, make_sessionmaker, session_scope, utcnow
from backend.jobs import service as jobs
from backend.migrate import upgrade_to_head
from backend.notices.channels import idem_key
from backend.notices.models import Notice
from backend.outbox import SEND_KIND, Recipient
from backend.security.crypto import FieldCipher
from tests.conftest import TEST_KEY
from tests.support.fake_aliyun_sms import FakeAliyunSms
from tests.support.fake_wechat import FakeWechat
from tests.support.live import fresh_database, spawn, stop, wait_for, worker_env
from tests.support.servers import PostgresServer, RedisServer, start_redis

KEYS = json.dumps({"k1": TEST_KEY})
INDEX_KEY = "test-blind-index-key-0123456789"
PHONE_PURPOSE = "claims.reporter_phone"


@pytest.fixture
def live_engine(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[Engine]:
    with fresh_database("postgresql", tmp_path, postgres_server) as url:
        engine = make_engine(url)
        upgrade_to_head(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def fakes() -> Iterator[tuple[FakeWechat, FakeAliyunSms]]:
    wechat, sms = FakeWechat().start(), FakeAliyunSms().start()
    yield wechat, sms
    wechat.stop()
    sms.stop()


def _env(engine: Engine, redis_url: str, tmp_path: Path, wechat: FakeWechat,
         sms: FakeAliyunSms) -> dict[str, str]:
    return worker_env(
        database_url=engine.url.render_as_string(hide_password=False), redis_url=redis_url,
        var_dir=tmp_path / "var",
        CS_CRYPTO__KEYS=KEYS, CS_CRYPTO__ACTIVE_KEY_ID="k1", CS_CRYPTO__BLIND_INDEX_KEY=INDEX_KEY,
        CS_WECHAT__APP_ID=wechat.app_id, CS_WECHAT__APP_SECRET=wechat.app_secret,
        CS_WECHAT__API_BASE_URL=wechat.url, CS_WECHAT__API_TIMEOUT_S="5",
        CS_SMS__ACCESS_KEY_ID=sms.access_key_id, CS_SMS__ACCESS_KEY_SECRET=sms.access_key_secret,
        CS_SMS__SIGN_NAME=sms.sign_name, CS_SMS__ENDPOINT=sms.endpoint, CS_SMS__PROTOCOL="http",
        CS_NOTICES__RATE_PER_S=json.dumps({"wechat_template": 100000, "sms": 100000}),
        CS_JOBS__STREAM=f"test:{uuid.uuid4().hex[:8]}", CS_JOBS__QUEUE_LEASE_S="3",
        CS_JOBS__POLL_INTERVAL_S="0.2", CS_JOBS__CLAIM_BATCH="200", CS_JOBS__MAX_IN_FLIGHT="400")


def _enqueue(engine: Engine, n: int, *, sms_every: int = 10) -> None:
    """``n`` notices: most to WeChat users, every ``sms_every``-th to a phone-only customer (urgent,
    so the quiet hours of the real clock do not hold them)."""
    cipher = FieldCipher.from_config(keys_json=KEYS, active_key_id="k1", blind_index_key=INDEX_KEY)
    now = utcnow()
    items = []
    for i in range(n):
        if i % sms_every == 0:
            to = Recipient(phone_enc=cipher.encrypt(f"139{i:08d}", purpose=PHONE_PURPOSE),
                           phone_purpose=PHONE_PURPOSE)
        else:
            to = Recipient(openid=f"oBatch{i:06d}", app="official_account")
        # What backend.outbox.enqueue_notice writes, for many rows at once.
        items.append((f"batch:{i}", now, {
            "kind": "claim_progress", "subject": ["claim", i], "to": to.as_payload(),
            "urgent": i % sms_every == 0,
            "params": {"case_no": f"LP{i:011d}", "state": "under_review", "date": "2026-12-03"},
            "at": now.isoformat()}))
    with session_scope(make_sessionmaker(engine)) as s:
        jobs.schedule_many(s, kind=SEND_KIND, items=items, replace=False, now=now)


def _delivered(wechat: FakeWechat, sms: FakeAliyunSms) -> int:
    return len(wechat.delivered()) + len(sms.by_out_id())


def _sent_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Notice).where(Notice.state == "sent")) or 0)


def _check_exactly_once(engine: Engine, wechat: FakeWechat, sms: FakeAliyunSms, n: int,
                        sms_every: int) -> None:
    per_template, per_sms = wechat.delivered(), sms.by_out_id()
    expected = {idem_key(f"batch:{i}", "wechat_template") for i in range(n) if i % sms_every}
    with wechat.lock:  # what any unexpected template message was, to name it in the failure
        strays = [{k: b.get(k) for k in ("touser", "client_msg_id", "data", "_msgid")}
                  for b in wechat.templates if b.get("client_msg_id") not in expected]
    assert set(per_template) == expected and set(per_template.values()) == {1}, (
        f"missing {len(expected - set(per_template))}, unexpected {strays[:5]}")
    assert len(per_sms) == len(range(0, n, sms_every)) and set(per_sms.values()) == {1}
    with engine.connect() as conn:
        states = dict(conn.execute(select(Notice.state, func.count()).group_by(Notice.state)).all())
    assert states == {"sent": n}


def test_sigkill_a_worker_mid_batch_of_5000_and_start_another__f_w1_f_w3(
        live_engine: Engine, redis_server: RedisServer, fakes: tuple[FakeWechat, FakeAliyunSms],
        tmp_path: Path) -> None:
    wechat, sms = fakes
    n, sms_every = 5000, 10
    _enqueue(live_engine, n, sms_every=sms_every)
    env = _env(live_engine, redis_server.url, tmp_path, wechat, sms)
    first = spawn(env, "backend", "worker", log=tmp_path / "worker-1.log")
    try:
        assert wait_for(lambda: _delivered(wechat, sms) >= 1500, 120), "the first worker did not send"
        stop(first, kill=True)  # SIGKILL in the middle of the batch, sends under way
        at_kill = _delivered(wechat, sms)
        assert at_kill < n
        second = spawn(env, "backend", "worker", log=tmp_path / "worker-2.log")
        try:
            assert wait_for(lambda: _delivered(wechat, sms) >= n, 180), (
                f"{_delivered(wechat, sms)} of {n} delivered")
            # the worker records the last sends as sent (its group commit may lag the fakes under load)
            assert wait_for(lambda: _sent_rows(live_engine) >= n, 60), (
                f"{_sent_rows(live_engine)} of {n} recorded sent")
            time.sleep(1.0)  # anything still in flight lands (and would be counted twice)
        finally:
            stop(second)
    finally:
        stop(first, kill=True)
    _check_exactly_once(live_engine, wechat, sms, n, sms_every)


def test_redis_killed_mid_batch_and_restarted_nothing_lost_nothing_doubled__f_r3(
        live_engine: Engine, fakes: tuple[FakeWechat, FakeAliyunSms], tmp_path: Path) -> None:
    wechat, sms = fakes
    redis = start_redis()
    n, sms_every = 1500, 10
    try:
        _enqueue(live_engine, n, sms_every=sms_every)
        env = _env(live_engine, redis.url, tmp_path, wechat, sms)
        worker = spawn(env, "backend", "worker", log=tmp_path / "worker.log")
        try:
            assert wait_for(lambda: _delivered(wechat, sms) >= 300, 120), "the worker did not send"
            redis.stop()  # every queued message is gone with it (no persistence)
            time.sleep(1.5)
            redis.start()
            assert wait_for(lambda: _delivered(wechat, sms) >= n, 180), (
                f"{_delivered(wechat, sms)} of {n} delivered")
            assert wait_for(lambda: _sent_rows(live_engine) >= n, 60), (
                f"{_sent_rows(live_engine)} of {n} recorded sent")
            time.sleep(1.0)
        finally:
            stop(worker)
    finally:
        redis.stop()
    _check_exactly_once(live_engine, wechat, sms, n, sms_every)
