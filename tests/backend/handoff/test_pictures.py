"""Agents send pictures from the console (issue 10), over the real API, the real encrypted file store,
the real delivery job and the fake WeChat API (SQLite and PostgreSQL): type by content, metadata
stripped, stored encrypted, delivered as temporary media + an image message with the exact clean
bytes, counted as a reply (first-response timer, the 5-per-customer-message count), and refused with
a clear Chinese error when wrong (type, size, empty, not your chat: A-02, no CSRF token: A-05)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditRecord
from backend.db import session_scope
from backend.errors import Forbidden
from backend.gateways.wechat import WechatGateway
from backend.handoff import console, messages, queue
from backend.handoff import pictures as pictures_svc
from backend.handoff.console_auth import CSRF_HEADER
from backend.handoff.models import HandoffMessage, HandoffRequest
from backend.handoff.pictures import MAX_PICTURE_BYTES
from backend.hooks import JobContext
from backend.jobs.registry import discover
from backend.jobs.runner import Executor, claim_due
from backend.runtime import Runtime
from backend.worker import job_context
from tests.backend.handoff.test_api_console import Console, _queued
from tests.backend.staff.helpers import Clock, assert_error, assert_ok
from tests.backend.storage import images
from tests.support.fake_wechat import FakeWechat

ALL_GROUPS = ["general", "claims", "complaints"]


@pytest.fixture
def fake_wechat() -> Iterator[FakeWechat]:
    fake = FakeWechat(timeout_sleep_s=0.5).start()
    yield fake
    fake.stop()


@pytest.fixture
def ctx(runtime: Runtime, clock: Clock, fake_wechat: FakeWechat) -> JobContext:
    wechat = WechatGateway(app_id=fake_wechat.app_id, app_secret=fake_wechat.app_secret,
                           redis_client=runtime.redis, api_base_url=fake_wechat.url, timeout_s=2.0,
                           sleep=lambda s: None)
    return dataclasses.replace(job_context(runtime), services={"wechat": wechat,
                                                               "storage": runtime.file_store})


def run_due(runtime: Runtime, ctx: JobContext, at: dt.datetime, kinds: tuple[str, ...]) -> int:
    """One poll of a worker: claim what is due of ``kinds`` and run it."""
    executor = Executor(ctx, discover())
    with session_scope(runtime.sessions) as s:
        claimed = claim_due(s, now=at, limit=100, lease_s=60, kinds=list(kinds))
    for c in claimed:
        executor.execute([c])
    return len(claimed)


def deliver(runtime: Runtime, ctx: JobContext, clock: Clock) -> int:
    return run_due(runtime, ctx, clock.now, (messages.DELIVER_KIND,))


def send_picture(agent: Console, handoff_id: int, data: bytes, name: str = "photo.jpg",
                 ctype: str = "image/jpeg", csrf: bool = True) -> Any:
    agent._use()
    headers = {CSRF_HEADER: agent.csrf} if csrf else {}
    return agent.client.post(f"/api/console/conversations/{handoff_id}/picture",
                             files={"file": (name, data, ctype)}, headers=headers)


def taken(client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> tuple[Console, HandoffRequest]:
    agent = Console(client, db, runtime, clock, "agent", ALL_GROUPS)
    row = _queued(db, runtime, clock)
    assert agent.post(f"/conversations/{row.id}/take").status_code == 200
    return agent, row


def pictures(db: Session, handoff_id: int) -> list[HandoffMessage]:
    return list(db.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == handoff_id,
                                                        HandoffMessage.kind == "image")
                           .order_by(HandoffMessage.id)))


def stored_files(runtime: Runtime) -> list[Path]:
    root = runtime.settings.var_dir / "files" / "handoff"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_png_and_jpeg_with_gps_go_through_stored_encrypted_without_gps_and_reach_wechat_as_sent(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock, ctx: JobContext,
        fake_wechat: FakeWechat) -> None:
    agent, row = taken(client, db, runtime, clock)
    fake_wechat.user_wrote(row.user_id)
    png, jpeg = images.png(), images.jpeg()
    assert images.GPS_MAKER.encode() in png and images.GPS_MAKER.encode() in jpeg
    # the names and declared types are ignored: the content decides
    r1 = send_picture(agent, row.id, png, name="x.jpg", ctype="application/octet-stream")
    r2 = send_picture(agent, row.id, jpeg, name="IMG_0001.JPG")
    out1, out2 = assert_ok(r1), assert_ok(r2)
    assert out1["delivery"] == "pending" and out1["image_url"].endswith(f"/pictures/{out1['id']}")
    msgs = pictures(db, row.id)
    assert [(m.id, m.direction, m.attachment_type) for m in msgs] == [
        (out1["id"], "agent", "image/png"), (out2["id"], "agent", "image/jpeg")]
    clean = [runtime.file_store.read_all(m.attachment_key or "") for m in msgs]  # type: ignore[attr-defined]
    for data in clean:
        assert images.GPS_MAKER.encode() not in data
    assert Image.open(io.BytesIO(clean[1])).getexif().get_ifd(0x8825) == {}  # no GPS block
    assert Image.open(io.BytesIO(clean[0])).size == (40, 30)
    on_disk = [p.read_bytes() for p in stored_files(runtime)]
    assert len(on_disk) == 2
    for raw in on_disk:  # encrypted at rest: no image signature, no metadata, no pixels' file
        assert raw.startswith(b"CSF1") and b"\x89PNG" not in raw and b"JFIF" not in raw
        assert images.GPS_MAKER.encode() not in raw
    assert all(m.attachment_key and m.attachment_key.startswith("handoff/") for m in msgs)

    assert deliver(runtime, ctx, clock) == 2
    assert sorted(fake_wechat.images_sent(row.user_id)) == sorted(clean)  # exactly the clean bytes
    assert [u["type"] for u in fake_wechat.uploads] == ["image", "image"]
    assert {b["msgtype"] for b in fake_wechat.sent} == {"image"}
    for m in msgs:
        db.refresh(m)
        assert m.delivery == "sent"

    view = assert_ok(agent.get(f"/conversations/{row.id}"))
    shown = [m for m in view["messages"] if m.get("kind") == "image"]
    assert [m["delivery"] for m in shown] == ["sent", "sent"]
    assert [m["image_url"] for m in shown] == [out1["image_url"], out2["image_url"]]
    got = agent.client.get(out2["image_url"])
    assert got.status_code == 200 and got.content == clean[1]
    assert got.headers["content-type"] == "image/jpeg" and "no-store" in got.headers["cache-control"]
    reads = list(db.scalars(select(AuditRecord).where(AuditRecord.object_type == "handoff",
                                                      AuditRecord.object_id == str(row.id),
                                                      AuditRecord.field == f"picture:{out2['id']}")))
    assert [r.actor for r in reads] == [agent.name]
    sent_audit = db.scalars(select(AuditRecord.action).where(AuditRecord.object_id == str(row.id),
                                                             AuditRecord.action == "handoff.picture")).all()
    assert len(sent_audit) == 2


def test_text_file_named_png_and_a_pdf_are_refused_and_nothing_is_stored(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent, row = taken(client, db, runtime, clock)
    r = send_picture(agent, row.id, b"this is not a picture at all\n" * 10, name="photo.png",
                     ctype="image/png")
    err = assert_error(r, 415, "picture_type")
    assert "JPG" in err["message"] and "PNG" in err["message"]
    assert_error(send_picture(agent, row.id, images.minimal_pdf(), name="a.png"), 415, "picture_type")
    assert pictures(db, row.id) == [] and stored_files(runtime) == []
    db.refresh(row)
    assert row.first_response_at is None  # a refused picture is no answer


def test_m06_too_big_and_empty_pictures_are_refused(client: TestClient, db: Session, runtime: Runtime,
                                                clock: Clock) -> None:
    agent, row = taken(client, db, runtime, clock)
    big = images.jpeg() + b"\x00" * (MAX_PICTURE_BYTES + 1 - len(images.jpeg()))
    err = assert_error(send_picture(agent, row.id, big), 413, "picture_too_large")
    assert "10MB" in err["message"]
    assert_error(send_picture(agent, row.id, b""), 400, "picture_empty")
    bomb = images.jpeg_header_only(20_000, 20_000)
    assert_error(send_picture(agent, row.id, bomb), 413, "picture_too_large")
    assert pictures(db, row.id) == [] and stored_files(runtime) == []
    exact = images.jpeg() + b"\x00" * (MAX_PICTURE_BYTES - len(images.jpeg()))  # 10 MB exactly passes
    assert send_picture(agent, row.id, exact).status_code == 200
    # M-06: a body far over the cap is refused at the edge, before the app reads it
    huge = images.jpeg() + b"\x00" * (runtime.settings.http.console_max_body_bytes + 1)
    assert_error(send_picture(agent, row.id, huge), 413, "http_413")
    assert len(pictures(db, row.id)) == 1


def test_a02_an_agent_who_does_not_have_the_chat_gets_403_and_cannot_see_its_pictures(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent, row = taken(client, db, runtime, clock)
    other = Console(client, db, runtime, clock, "agent", ALL_GROUPS)
    assert_error(send_picture(other, row.id, images.png()), 403, "forbidden")
    sent = assert_ok(send_picture(agent, row.id, images.png()))
    assert_error(other.get(f"/conversations/{row.id}/pictures/{sent['id']}"), 403, "forbidden")
    refused = db.scalars(select(AuditRecord).where(AuditRecord.object_id == str(row.id),
                                                   AuditRecord.actor == other.name)).all()
    assert len(refused) == 2 and all(r.result.startswith("refused") for r in refused)
    assert [m.staff_id for m in pictures(db, row.id)] == [agent.id]
    # a message id of another conversation is not found through this one
    agent2, row2 = taken(client, db, runtime, clock)
    assert_error(agent2.get(f"/conversations/{row2.id}/pictures/{sent['id']}"), 404, "picture_not_found")
    # a supervisor may send in any chat
    boss = Console(client, db, runtime, clock, "supervisor")
    assert send_picture(boss, row.id, images.png()).status_code == 200


def test_a02_a_queued_chat_is_not_answered_with_a_picture(client: TestClient, db: Session, runtime: Runtime,
                                                          clock: Clock) -> None:
    agent = Console(client, db, runtime, clock, "agent", ALL_GROUPS)
    row = _queued(db, runtime, clock)
    assert_error(send_picture(agent, row.id, images.png()), 409, "handoff_not_open")


def test_a05_a_picture_without_the_csrf_token_is_refused(client: TestClient, db: Session, runtime: Runtime,
                                                         clock: Clock) -> None:
    agent, row = taken(client, db, runtime, clock)
    assert_error(send_picture(agent, row.id, images.png(), csrf=False), 403, "csrf_failed")
    agent._use()
    r = agent.client.post(f"/api/console/conversations/{row.id}/picture",
                          files={"file": ("a.png", images.png(), "image/png")},
                          headers={CSRF_HEADER: "x" * 64})
    assert_error(r, 403, "csrf_failed")
    assert pictures(db, row.id) == [] and stored_files(runtime) == []


def test_the_first_picture_stops_the_first_response_timer(client: TestClient, db: Session, runtime: Runtime,
                                                          clock: Clock, ctx: JobContext,
                                                          fake_wechat: FakeWechat) -> None:
    agent, row = taken(client, db, runtime, clock)
    queued_at = row.queued_at
    assert queued_at is not None and row.first_response_at is None
    clock.advance(20)
    assert send_picture(agent, row.id, images.jpeg()).status_code == 200
    db.refresh(row)
    assert row.first_response_at == clock.now
    run_due(runtime, ctx, queued_at + dt.timedelta(minutes=4), (queue.SLA_KIND,))
    db.refresh(row)
    assert row.breached_at is None and not row.escalated
    breaches = db.scalars(select(AuditRecord).where(AuditRecord.object_id == str(row.id),
                                                    AuditRecord.action.in_(("handoff.sla_breach",
                                                                            "handoff.sla_warning")))).all()
    assert breaches == []


def test_the_five_message_count_includes_pictures_and_45047_is_shown(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock, ctx: JobContext,
        fake_wechat: FakeWechat) -> None:
    agent, row = taken(client, db, runtime, clock)
    fake_wechat.user_wrote(row.user_id)
    for i in range(3):
        clock.advance(1)
        assert agent.post(f"/conversations/{row.id}/reply", {"text": f"第{i + 1}条"}).status_code == 200
        deliver(runtime, ctx, clock)
    for _ in range(2):
        clock.advance(1)
        assert send_picture(agent, row.id, images.png()).status_code == 200
        deliver(runtime, ctx, clock)
    assert len(fake_wechat.sent) == 5 and len(fake_wechat.images_sent(row.user_id)) == 2
    clock.advance(1)
    sixth = assert_ok(send_picture(agent, row.id, images.jpeg()))
    deliver(runtime, ctx, clock)
    assert len(fake_wechat.sent) == 5  # held by our own count: WeChat was not even asked
    view = assert_ok(agent.get(f"/conversations/{row.id}"))
    [last] = [m for m in view["messages"] if m["id"] == f"m{sixth['id']}"]
    assert last["delivery"] == "failed" and "5条" in last["delivery_error"]
    # WeChat counted messages we did not send (another system): its 45047 is shown as such
    fake_wechat.user_wrote(row.user_id)
    fake_wechat.cs_count[row.user_id] = 5
    with session_scope(runtime.sessions) as s:  # the customer wrote again: our count starts over
        target = s.get(HandoffRequest, row.id)
        assert target is not None
        messages.add_message(s, row=target, direction="customer", text="好的", cipher=runtime.cipher,
                            now=clock.now)
    clock.advance(1)
    seventh = assert_ok(send_picture(agent, row.id, images.jpeg()))
    deliver(runtime, ctx, clock)
    view = assert_ok(agent.get(f"/conversations/{row.id}"))
    [last] = [m for m in view["messages"] if m["id"] == f"m{seventh['id']}"]
    assert last["delivery"] == "failed" and "45047" in last["delivery_error"]
    assert len(fake_wechat.sent) == 5


def test_fake_wechat_refuses_a_non_image_upload_and_an_unknown_media_id(
        runtime: Runtime, fake_wechat: FakeWechat, ctx: JobContext) -> None:
    gateway: WechatGateway = ctx.services["wechat"]
    from backend.gateways.exceptions import WechatApiError, WechatMediaExpired

    with pytest.raises(WechatApiError) as bad:
        gateway.upload_image(b"hello, not a picture", filename="a.jpg", content_type="image/jpeg")
    assert bad.value.errcode == 40005
    media_id = gateway.upload_image(images.png(), filename="a.png", content_type="image/png")
    fake_wechat.user_wrote("o-media")
    with pytest.raises(WechatMediaExpired):
        gateway.send_image("o-media", "MEDIA_unknown")
    gateway.send_image("o-media", media_id)
    assert fake_wechat.images_sent("o-media") == [images.png()]


def test_a_picture_is_one_file_part_whatever_its_field_name_and_only_one(
        client: TestClient, db: Session, runtime: Runtime, clock: Clock) -> None:
    agent, row = taken(client, db, runtime, clock)
    agent._use()
    url = f"/api/console/conversations/{row.id}/picture"
    r = agent.client.post(url, files={"picture": ("a.png", images.png(), "image/png")},
                          headers={CSRF_HEADER: agent.csrf})
    assert assert_ok(r)["delivery"] == "pending"
    two = [("file", ("a.png", images.png(), "image/png")), ("more", ("b.png", images.png(), "image/png"))]
    assert_error(agent.client.post(url, files=two, headers={CSRF_HEADER: agent.csrf}), 400,
                 "one_picture_only")
    no_file = agent.client.post(url, data={"text": "hi"}, files={"x": (None, "y")},
                                headers={CSRF_HEADER: agent.csrf})
    assert_error(no_file, 400, "picture_empty")
    assert len(pictures(db, row.id)) == 1


def test_ownership_is_checked_again_when_the_upload_ends(client: TestClient, db: Session, runtime: Runtime,
                                                         clock: Clock) -> None:
    """The chat changed hands while the picture was uploading: refused, and the stored file is gone."""
    agent, row = taken(client, db, runtime, clock)
    other = Console(client, db, runtime, clock, "agent", ALL_GROUPS)
    stored, kind = pictures_svc.store_picture(runtime.file_store, [images.png()])
    assert runtime.file_store.exists(stored.key)
    db.expire_all()  # the take went through the API
    console.transfer(db, handoff_id=row.id, staff_id=agent.id, to_agent_id=other.id, note="换人",
                     now=clock.now, cipher=runtime.cipher)
    with pytest.raises(Forbidden):
        pictures_svc.record_picture(db, handoff_id=row.id, staff_id=agent.id, stored=stored, kind=kind,
                                    now=clock.now, cipher=runtime.cipher)
    runtime.file_store.delete(stored.key)
    # the service that does both leaves no file behind when the second step is refused
    with pytest.raises(Forbidden):
        pictures_svc.send_picture(db, handoff_id=row.id, staff_id=agent.id, chunks=[images.png()],
                                  store=runtime.file_store, now=clock.now, cipher=runtime.cipher)
    assert stored_files(runtime) == []
