"""Idempotency keys on every create: a double tap on a weak network creates one thing (F-P2)."""

from __future__ import annotations

import threading
import time
import uuid

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from backend.claims.models import Claim
from backend.db import make_sessionmaker
from backend.idempotency import service as idem
from backend.idempotency.models import IdempotencyKey
from tests.backend.storage import images
from tests.miniprogram_api.conftest import API, MP


def test_double_tap_reports_one_claim(mp: MP) -> None:
    openid = f"o{uuid.uuid4().hex[:20]}"
    headers = mp.login(openid)
    insured = mp.bind(headers)
    first = mp.report(headers, insured, key="tap-tap-0001")
    second = mp.report(headers, insured, key="tap-tap-0001")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] and second.headers["Idempotent-Replayed"] == "true"
    assert (
        mp.db.scalar(select(func.count()).select_from(Claim).where(Claim.reporter_openid == openid)) == 1
    )
    assert len(mp.client.get(f"{API}/claims", headers=headers).json()["items"]) == 1
    other = mp.report(headers, insured, key="tap-tap-0001", description="另一件事")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    # Keys belong to their customer: someone else's same key makes their own claim.
    b = mp.login()
    assert mp.report(b, mp.bind(b), key="tap-tap-0001").json()["id"] != first.json()["id"]


def test_double_tap_files_one_complaint_one_visit_one_upload(mp: MP) -> None:
    headers, claim = mp.claim()
    complaint = {"category": "claim_speed", "content": "太慢", "name": "陈小明", "phone": "13800138000"}
    visit = {"name": "陈阿婆", "phone": "13800138000", "address": "峡山", "purpose": "收材料"}
    for path, body in (("/complaints", complaint), ("/visits", visit)):
        ids = {
            mp.client.post(
                API + path, headers={**headers, "Idempotency-Key": f"same-key{path[1:5]}"}, json=body
            ).json()["id"]
            for _ in range(2)
        }
        assert len(ids) == 1
        assert len(mp.client.get(API + path, headers=headers).json()["items"]) == 1
    data = images.jpeg()
    ups = {
        mp.client.post(
            f"{API}/claims/{claim['id']}/attachments",
            headers={**headers, "Idempotency-Key": "same-upload-1"},
            files={"file": ("a.jpg", data, "image/jpeg")},
        ).json()["id"]
        for _ in range(2)
    }
    assert len(ups) == 1
    assert len(mp.client.get(f"{API}/claims/{claim['id']}/attachments", headers=headers).json()["items"]) == 1


def test_a_key_is_required_on_creates(mp: MP) -> None:
    headers = mp.login()
    r = mp.client.post(
        f"{API}/complaints",
        headers=headers,
        json={"category": "other", "content": "x", "name": "甲", "phone": "13800138000"},
    )
    assert r.status_code == 422 and r.json()["error"]["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_concurrent_requests_with_one_key_make_one_thing(postgres_engine: Engine) -> None:
    """Two transactions on PostgreSQL: the second waits on the key, then replays the first's result."""
    sessions = make_sessionmaker(postgres_engine)
    owner = f"customer:test-{uuid.uuid4().hex[:8]}"
    results: list[int | None] = []
    made: list[int] = []

    def first() -> None:
        with sessions() as s, s.begin():
            assert idem.begin(s, owner=owner, key="k-concurrent", operation="op", fp="f") is None
            time.sleep(0.5)  # the second request arrives meanwhile
            made.append(4242)
            idem.finish(s, owner=owner, key="k-concurrent", resource_id=4242)

    def second() -> None:
        time.sleep(0.1)
        with sessions() as s, s.begin():
            results.append(idem.begin(s, owner=owner, key="k-concurrent", operation="op", fp="f"))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert made == [4242] and results == [4242]
    finally:
        with Session(postgres_engine) as s, s.begin():
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.owner == owner))


def test_double_tap_on_a_subscription_report_counts_one_send(mp: MP) -> None:
    headers = mp.login()
    body = {"results": [{"template_id": "tpl-claim-progress", "status": "accept"}]}
    tap = {**headers, "Idempotency-Key": "subscribe-tap-1"}
    first = mp.client.post(f"{API}/notifications/subscriptions", headers=tap, json=body)
    second = mp.client.post(f"{API}/notifications/subscriptions", headers=tap, json=body)
    assert first.status_code == second.status_code == 200, second.text
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json()["items"][0]["available"] == second.json()["items"][0]["available"] == 1
    listed = mp.client.get(f"{API}/notifications/subscriptions", headers=headers).json()["items"]
    assert [(b["template_id"], b["available"]) for b in listed] == [("tpl-claim-progress", 1)]
    # A new popup (a new key) is one more send; the same key for another answer is refused.
    tap2 = {**headers, "Idempotency-Key": "subscribe-tap-2"}
    again = mp.client.post(f"{API}/notifications/subscriptions", headers=tap2, json=body)
    assert again.json()["items"][0]["available"] == 2
    other = mp.client.post(
        f"{API}/notifications/subscriptions",
        headers=tap,
        json={"results": [{"template_id": "tpl-claim-progress", "status": "reject"}]},
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    no_key = mp.client.post(f"{API}/notifications/subscriptions", headers=headers, json=body)
    assert no_key.status_code == 422
