"""W-16: what a customer sends in WeChat is downloaded by a job within minutes, checked by content,
stored encrypted and linked to the claim; an expired media id (40007) or a file we do not accept asks
the customer to send it again. Against the fake WeChat API (its media download), on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.attachments import FETCH_KIND, assign_material, attach_media, list_attachments
from backend.hooks import JobContext
from backend.jobs import service as jobs
from backend.jobs.registry import discover
from backend.jobs.runner import Executor
from backend.notices.models import Notice
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from backend.storage import FileNotStored, LocalFileStore, StorageError
from tests.backend.jobs.conftest import Clock
from tests.backend.notices.conftest import OPENID, report, run_due
from tests.backend.storage import images
from tests.support.fake_wechat import FakeWechat

JPEG = images.jpeg()
PNG = images.png()
HTML = b"<html><script>alert(1)</script></html>"


def _attach(db: Session, cipher: FieldCipher, claim_id: int, media_id: str, clock: Clock) -> int:
    row = attach_media(db, cipher=cipher, claim_id=claim_id, channel="official_account", actor="bot",
                       media_id=media_id, now=clock())
    return row.id


def test_sent_picture_is_fetched_stored_encrypted_and_linked__w16(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, media_ctx: JobContext,
        store: LocalFileStore, fake_wechat: FakeWechat, tmp_path: Path) -> None:
    fake_wechat.media.update({"MEDIA_JPEG": JPEG, "MEDIA_PNG": PNG})
    claim = report(db, cipher, catalog, now=clock())
    first = _attach(db, cipher, claim.id, "MEDIA_JPEG", clock)
    second = _attach(db, cipher, claim.id, "MEDIA_PNG", clock)
    assign_material(db, attachment_id=first, material_id=claim.materials[0].material_id)
    assert jobs.is_waiting(db, kind=FETCH_KIND, key=str(first))  # armed with the attachment
    db.commit()
    run_due(runtime, Executor(media_ctx, discover()), clock, kinds=(FETCH_KIND,))
    db.expire_all()
    rows = {r.id: r for r in list_attachments(db, claim_id=claim.id)}
    assert [rows[first].status, rows[second].status] == ["stored", "stored"]
    assert (rows[first].content_type, rows[second].content_type) == ("image/jpeg", "image/png")
    assert rows[first].material_id == claim.materials[0].material_id
    key = rows[first].storage_key
    assert key and key.startswith("claims/") and "MEDIA" not in key
    clear = b"".join(store.open(key))
    assert clear[:3] == b"\xff\xd8\xff" and len(clear) > 100  # the picture (metadata stripped)
    on_disk = store.path_of(key).read_bytes()
    assert clear[20:60] not in on_disk  # encrypted at rest
    other = LocalFileStore(tmp_path / "files", cipher)
    other_key = rows[second].storage_key
    assert other_key is not None
    store.path_of(other_key).write_bytes(on_disk)  # a file copied under another key does not decrypt
    with pytest.raises(StorageError):
        other.read_all(other_key)
    with pytest.raises(FileNotStored):
        store.read_all("claims/" + "0" * 32)


def test_expired_media_asks_the_customer_to_send_it_again__w16_40007(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, media_ctx: JobContext,
        fake_wechat: FakeWechat) -> None:
    claim = report(db, cipher, catalog, now=clock())
    gone = _attach(db, cipher, claim.id, "MEDIA_GONE", clock)  # not on the fake: 40007
    fake_wechat.media["MEDIA_HTML"] = HTML
    html = _attach(db, cipher, claim.id, "MEDIA_HTML", clock)
    db.commit()
    executor = Executor(media_ctx, discover())
    run_due(runtime, executor, clock, kinds=(FETCH_KIND,))
    db.expire_all()
    rows = {r.id: r for r in list_attachments(db, claim_id=claim.id)}
    assert (rows[gone].status, rows[html].status) == ("expired", "rejected")
    run_due(runtime, executor, clock)  # the notices
    resend = list(db.scalars(select(Notice).where(Notice.kind == "media_resend")))
    assert {n.key for n in resend} == {f"attachment:{gone}:resend", f"attachment:{html}:resend"}
    assert all(n.state == "sent" for n in resend)
    asked = [t for t in fake_wechat.templates if t["data"]["thing3"]["value"] == "请在公众号重新发送"]
    assert {t["touser"] for t in asked} == {OPENID} and len(asked) == 2


def test_download_errors_retry_with_backoff_and_nothing_is_lost__w16(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, media_ctx: JobContext,
        fake_wechat: FakeWechat) -> None:
    fake_wechat.media["MEDIA_LATER"] = JPEG
    fake_wechat.inject("http500", "/cgi-bin/media/get")
    claim = report(db, cipher, catalog, now=clock())
    att = _attach(db, cipher, claim.id, "MEDIA_LATER", clock)
    db.commit()
    executor = Executor(media_ctx, discover())
    run_due(runtime, executor, clock, kinds=(FETCH_KIND,))
    row = jobs.get_job(db, kind=FETCH_KIND, key=str(att))
    assert row is not None and row.state == "pending" and row.attempts == 1 and row.due_at > clock()
    clock.now = row.due_at
    run_due(runtime, executor, clock, kinds=(FETCH_KIND,))
    db.expire_all()
    [stored] = list_attachments(db, claim_id=claim.id)
    assert stored.status == "stored"
