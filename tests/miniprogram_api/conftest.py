"""Fixtures for the mini-program API: the fake WeChat API, a configured app, and a helper that logs
customers in and binds them to insured people of the roster, all through the real endpoints."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.roster.service import import_roster
from backend.runtime import Runtime
from config.settings import MiniProgramSettings, Settings
from tests.backend.roster.helpers import csv_bytes, make_id
from tests.support.fake_wechat import FakeWechat

API = "/mp/v1"


class Clock:
    """A settable clock (real time until set)."""

    def __init__(self) -> None:
        self.at: dt.datetime | None = None

    def __call__(self) -> dt.datetime:
        return self.at or utcnow()


@pytest.fixture
def fake_wx() -> Iterator[FakeWechat]:
    fake = FakeWechat().start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(tmp_path: Path, fake_wx: FakeWechat) -> Settings:
    return Settings(
        mode="local",
        var_dir=tmp_path / "var",
        run_worker=False,
        demo_accounts=False,
        miniprogram=MiniProgramSettings(
            app_id=fake_wx.app_id, app_secret=fake_wx.app_secret, api_base_url=fake_wx.url, api_timeout_s=1.0
        ),
    )


@pytest.fixture
def clock(runtime: Runtime) -> Clock:
    c = Clock()
    runtime.clock = c
    return c


def new_id(birth: dt.date = dt.date(1950, 3, 1)) -> str:
    """A fresh valid ID number (random sequence) of someone born on ``birth``."""
    return make_id(birth, seq=uuid.uuid4().int % 1000)


class MP:
    """Drives the API as the mini-program would."""

    def __init__(self, client: TestClient, db: Session, runtime: Runtime, fake: FakeWechat) -> None:
        self.client, self.db, self.runtime, self.fake = client, db, runtime, fake

    def login(
        self, openid: str | None = None, *, unionid: str | None = None, consent: bool = True
    ) -> dict[str, str]:
        """Log a customer in (and accept the privacy notice and every consent unless told not to)."""
        code = self.fake.issue_login_code(openid or f"o{uuid.uuid4().hex[:20]}", unionid=unionid)
        r = self.client.post(f"{API}/auth/login", json={"code": code})
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
        if consent:
            self.accept_all(headers)
        return headers

    def accept_all(self, headers: dict[str, str]) -> None:
        state = self.client.get(f"{API}/consents", headers=headers).json()
        r = self.client.post(
            f"{API}/consents/privacy-notice",
            headers=headers,
            json={"version": state["privacy_notice"]["version"]},
        )
        assert r.status_code == 200, r.text
        for item in state["consents"]:
            r = self.client.put(
                f"{API}/consents/{item['category']}",
                headers=headers,
                json={"granted": True, "version": item["version"]},
            )
            assert r.status_code == 200, r.text

    def person(self, name: str = "陈阿婆", id_number: str | None = None) -> str:
        """Put one insured person on the roster; returns the ID number."""
        number = id_number or new_id()
        data = csv_bytes(f"{name},{number},潮南区,,潮南区峡山街道")
        report = import_roster(
            self.db,
            cipher=self.runtime.cipher,
            product=self.runtime.catalog.get(),
            data=data,
            file_name="roster.csv",
            actor="test",
            today=dt.date(2026, 1, 1),
        )
        assert report.rejected == 0, report.rejections
        self.db.commit()
        return number

    def bind(
        self,
        headers: dict[str, str],
        *,
        name: str = "陈阿婆",
        id_number: str | None = None,
        relation: str = "parent",
    ) -> int:
        number = id_number or self.person(name)
        r = self.client.post(
            f"{API}/insured", headers=headers, json={"name": name, "id_number": number, "relation": relation}
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def report(
        self, headers: dict[str, str], insured_id: int, *, key: str | None = None, **overrides: Any
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "insured_id": insured_id,
            "claim_type": "hospital_allowance",
            "accident_type": "fall",
            "accident_date": (dt.date.today() - dt.timedelta(days=2)).isoformat(),
            "description": "在家里摔倒，送医院住院",
            "place": "家里",
            "hospital": "潮南区人民医院",
            "reporter_phone": "13800138000",
        }
        body.update(overrides)
        return self.client.post(
            f"{API}/claims", headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex}, json=body
        )

    def claim(self, headers: dict[str, str] | None = None) -> tuple[dict[str, str], dict[str, Any]]:
        """A logged-in customer with one reported claim."""
        headers = headers or self.login()
        r = self.report(headers, self.bind(headers))
        assert r.status_code == 201, r.text
        return headers, r.json()


@pytest.fixture
def mp(client: TestClient, db: Session, runtime: Runtime, fake_wx: FakeWechat, clock: Clock) -> MP:
    return MP(client, db, runtime, fake_wx)
