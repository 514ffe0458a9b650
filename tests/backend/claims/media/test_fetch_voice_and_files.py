"""W-16 for voice messages and files: like pictures, what a customer sends is downloaded from the fake
WeChat API by the fetch job, checked by its content (an AMR voice by ``#!AMR``, Speex by its Ogg header,
a file as a PDF), stored encrypted (voices as they came) and linked to the claim; what is none of these,
and a voice over the size cap, is refused and the customer asked to send it again."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.claims import media
from backend.claims.attachments import FETCH_KIND, attach_media, list_attachments
from backend.hooks import JobContext
from backend.jobs import service as jobs
from backend.jobs.registry import discover
from backend.jobs.runner import Executor
from backend.outbox import SEND_KIND
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from backend.storage import LocalFileStore
from tests.backend.jobs.conftest import Clock
from tests.backend.notices.conftest import report, run_due
from tests.backend.storage import images
from tests.support.fake_wechat import FakeWechat

# AMR-NB: the magic, then 20 ms frames (a 12.2 kbit/s frame is a 0x3C header and 31 bytes).
AMR = b"#!AMR\n" + (b"\x3c" + bytes(range(31))) * 50
AMR_WB = b"#!AMR-WB\n" + (b"\x44" + bytes(range(60))) * 20
# An Ogg page whose first packet is a Speex header ("Speex   " + version string…).
SPEEX = (b"OggS\x00\x02" + b"\x00" * 8 + b"\x01\x00\x00\x00" + b"\x00" * 8 + b"\x01\x50"
         + b"Speex   1.2.0" + b"\x00" * 67 + b"\x01\x02\x03" * 40)
NOT_VOICE = b"#!AM" + b"\x00" * 200  # close, but not the AMR magic
PDF = images.minimal_pdf()


def _fetch_all(runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock,
               media_ctx: JobContext, fake: FakeWechat,
               files: dict[str, bytes]) -> tuple[int, dict[str, Any]]:
    fake.media.update(files)
    claim = report(db, cipher, catalog, now=clock())
    ids = {name: attach_media(db, cipher=cipher, claim_id=claim.id, channel="official_account", actor="bot",
                              media_id=name, now=clock()).id for name in files}
    db.commit()
    run_due(runtime, Executor(media_ctx, discover()), clock, kinds=(FETCH_KIND,))
    db.expire_all()
    rows = {r.id: r for r in list_attachments(db, claim_id=claim.id)}
    return claim.id, {name: rows[i] for name, i in ids.items()}


def test_voice_messages_are_fetched_and_stored_as_they_came__w16(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, media_ctx: JobContext,
        store: LocalFileStore, fake_wechat: FakeWechat) -> None:
    _, rows = _fetch_all(runtime, db, cipher, catalog, clock, media_ctx, fake_wechat,
                         {"MEDIA_AMR": AMR, "MEDIA_AMR_WB": AMR_WB, "MEDIA_SPEEX": SPEEX})
    assert {n: (r.status, r.content_type) for n, r in rows.items()} == {
        "MEDIA_AMR": ("stored", "audio/amr"), "MEDIA_AMR_WB": ("stored", "audio/amr-wb"),
        "MEDIA_SPEEX": ("stored", "audio/ogg")}
    for name, data in (("MEDIA_AMR", AMR), ("MEDIA_AMR_WB", AMR_WB), ("MEDIA_SPEEX", SPEEX)):
        key = rows[name].storage_key
        assert key and key.startswith("claims/") and "MEDIA" not in key
        assert b"".join(store.open(key)) == data  # kept byte for byte
        assert data[6:60] not in store.path_of(key).read_bytes()  # encrypted at rest


def test_a_file_sent_in_wechat_is_fetched_and_checked_like_an_upload__w16(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, media_ctx: JobContext,
        store: LocalFileStore, fake_wechat: FakeWechat) -> None:
    _, rows = _fetch_all(runtime, db, cipher, catalog, clock, media_ctx, fake_wechat, {"MEDIA_PDF": PDF})
    row = rows["MEDIA_PDF"]
    assert (row.status, row.content_type) == ("stored", "application/pdf")
    assert row.storage_key and b"".join(store.open(row.storage_key)) == PDF


def test_what_is_no_voice_or_too_large_is_refused_and_asked_again__w16(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, media_ctx: JobContext,
        fake_wechat: FakeWechat) -> None:
    big_amr = AMR + b"\x3c" * (media.MAX_MEDIA_BYTES - len(AMR) + 1)  # one byte over WeChat's file limit
    _, rows = _fetch_all(runtime, db, cipher, catalog, clock, media_ctx, fake_wechat,
                         {"MEDIA_NOT_VOICE": NOT_VOICE, "MEDIA_BIG_AMR": big_amr})
    assert {n: r.status for n, r in rows.items()} == {"MEDIA_NOT_VOICE": "rejected",
                                                      "MEDIA_BIG_AMR": "rejected"}
    assert all(r.storage_key is None for r in rows.values())
    for row in rows.values():  # the customer is asked to send it again (a notice in the outbox)
        assert jobs.get_job(db, kind=SEND_KIND, key=f"attachment:{row.id}:resend") is not None
