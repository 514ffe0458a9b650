"""`make run` sends notices from its in-process worker: the service started as `python -m backend serve`
on embedded defaults (SQLite and Redis under its var folder), with the official account's API pointed at
the fake WeChat server. A claim reported in WeChat (written to the service's database by another
process, as the bot or the console would) makes the in-process worker send the template message."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from backend.calendar.service import WorkingCalendar
from backend.claims import service as claims
from backend.db import make_engine, make_sessionmaker, session_scope
from backend.privacy import service as privacy
from backend.products.service import load_catalog
from backend.security.crypto import FieldCipher
from config.settings import CONFIG_DIR, Settings, WechatSettings
from tests.backend.claims.support import make_id, report_kwargs
from tests.support.fake_wechat import FakeWechat
from tests.support.service import ServiceProcess, clean_env, start_service

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oMakeRunNotice000000000001"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWechat]:
    f = FakeWechat(app_id="wx2c2769f8efd9abc2").start()
    yield f
    f.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           fake: FakeWechat) -> Iterator[tuple[ServiceProcess, Path]]:
    tmp = tmp_path_factory.mktemp("make-run-notices")
    env = clean_env(tmp / "var", CS_WECHAT__TOKEN="mr-token", CS_WECHAT__APP_ID=fake.app_id,
                    CS_WECHAT__APP_SECRET=fake.app_secret, CS_WECHAT__API_BASE_URL=fake.url,
                    CS_WECHAT__ENCODING_AES_KEY=AES_KEY, CS_WECHAT__MODE="safe")
    svc = start_service(tmp, env)  # CS_RUN_WORKER defaults to true: the worker runs in the process
    yield svc, tmp / "var"
    svc.stop()


def _report_in_wechat(var_dir: Path) -> str:
    """A claim reported in WeChat by OPENID, committed to the service's own database; its case number."""
    settings = Settings(mode="local", var_dir=var_dir, run_worker=False,
                        wechat=WechatSettings(token=SecretStr("mr-token"), app_id="wx2c2769f8efd9abc2",
                                              encoding_aes_key=SecretStr(AES_KEY)))
    cipher = FieldCipher.from_config(keys_json=settings.crypto.keys.get_secret_value(),
                                     active_key_id=settings.crypto.active_key_id,
                                     blind_index_key=settings.crypto.blind_index_key.get_secret_value())
    catalog = load_catalog(products_dir=settings.products_dir, default_id=settings.default_product_id)
    engine = make_engine(settings.database_url_effective)
    try:
        sessions = make_sessionmaker(engine, audit_key=settings.audit.chain_key.get_secret_value().encode())
        now = dt.datetime.now(dt.UTC)
        with session_scope(sessions, write=True) as s:
            for category in ("id_number", "medical"):
                privacy.record_consent(s, category=category, channel="official_account", user_id=OPENID,
                                       actor="customer", now=now)
            calendar = WorkingCalendar.load(CONFIG_DIR / "holidays.yaml")
            claim = claims.report_claim(
                s, cipher=cipher, catalog=catalog, calendar=calendar,
                **report_kwargs(channel="official_account", actor="bot:official_account",
                                reporter_openid=OPENID, insured_id_number=make_id("44051419530101777"),
                                now=now, accident_date=now.date()))
            return claim.case_no
    finally:
        engine.dispose()


@pytest.mark.slow
def test_make_run_sends_a_claim_notice_from_its_in_process_worker(
        served: tuple[ServiceProcess, Path], fake: FakeWechat) -> None:
    service, var_dir = served
    case_no = _report_in_wechat(var_dir)
    deadline = time.monotonic() + 30
    sent: list[dict[str, object]] = []
    while time.monotonic() < deadline and not sent:
        sent = [t for t in fake.templates if t.get("touser") == OPENID]
        time.sleep(0.2)
    assert sent, f"no template message reached the fake WeChat API: {service.log_text()[-3000:]}"
    [message] = sent
    data = message["data"]
    assert isinstance(data, dict) and data["character_string1"]["value"] == case_no
    assert message.get("client_msg_id")  # the notice's idempotency key
    time.sleep(2)  # a second poll finds nothing more to send: exactly once
    assert len([t for t in fake.templates if t.get("touser") == OPENID]) == 1
