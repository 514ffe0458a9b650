"""Pictures an agent sends from the console (issue 10: "Agents may send pictures from the console").

``send_picture`` takes the upload as a stream of chunks: the type comes from the first bytes only
(JPEG or PNG, ``backend.storage.sniff``), metadata such as EXIF GPS is stripped as it streams
(``backend.storage.sanitize``), the clean bytes are stored encrypted under a random key
(``backend.storage``), and the message (``kind="image"``) counts as the agent's answer exactly like a
text reply: first-response timers stopped, next-response clock cleared, audited, published, and the
``handoff.deliver`` job scheduled (the job uploads it to WeChat as temporary media and sends an image
message, or the web chat page shows it).

A file stored and then left by a failed transaction holds nothing anyone can reach (its key is in no
row); the service deletes it itself when its own database work fails.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

import redis
from sqlalchemy.orm import Session

from backend.errors import NotFound, ServiceError
from backend.handoff import copy
from backend.handoff.console import answered, get, owned
from backend.handoff.messages import add_message
from backend.handoff.models import HandoffMessage
from backend.security.crypto import FieldCipher
from backend.storage import FileNotStored, FileStore, StoredFile
from backend.storage.ingest import FileTooLarge, Ingest
from backend.storage.sanitize import FileRejected
from backend.storage.sniff import FileKind

MAX_PICTURE_BYTES = 10 * 1024 * 1024  # WeChat's limit for an image (temporary media, type=image)
PICTURE_KINDS = frozenset({FileKind.JPEG, FileKind.PNG})
NAMESPACE = "handoff"
FILENAMES = {FileKind.JPEG.value: "picture.jpg", FileKind.PNG.value: "picture.png"}
# How a picture download is documented (OpenAPI): the bytes, JPEG or PNG.
PICTURE_RESPONSE = {"description": "图片", "content": {
    t: {"schema": {"type": "string", "format": "binary"}} for t in FILENAMES}}


def _refused(code: str) -> ServiceError:
    if code == "empty":
        return ServiceError("picture_empty", "没有收到图片，请重新选择", status_code=400)
    if code == "image_too_large":  # an image bomb: too many pixels, whatever the file's size
        return ServiceError("picture_too_large", "图片像素太大了，请换一张或先截图再发", status_code=413)
    if code in ("unsupported_type", "not_jpeg"):
        return ServiceError("picture_type", "只能发送 JPG 或 PNG 图片", status_code=415)
    return ServiceError("picture_corrupt", "图片文件已损坏，请换一张", status_code=400)


def store_picture(store: FileStore, chunks: Iterable[bytes]) -> tuple[StoredFile, FileKind]:
    """Check, clean and store one picture (JPEG or PNG, ≤ 10 MB): the stored file and its kind, or a
    :class:`ServiceError` with a Chinese message for the console (nothing stays stored then)."""
    ingest = Ingest(store, namespace=NAMESPACE, max_bytes=MAX_PICTURE_BYTES)
    try:
        for chunk in chunks:
            ingest.feed(chunk)
            if ingest.kind is not None and ingest.kind not in PICTURE_KINDS:  # a PDF: not a picture
                raise FileRejected("unsupported_type")
        stored, kind = ingest.finish()
    except FileTooLarge:
        ingest.abort()
        raise ServiceError("picture_too_large", "图片太大了，最大10MB", status_code=413,
                           detail={"max_bytes": MAX_PICTURE_BYTES}) from None
    except FileRejected as exc:
        ingest.abort()
        raise _refused(exc.code) from None
    if kind not in PICTURE_KINDS:  # a PDF shorter than one chunk: refused after the fact
        store.delete(stored.key)
        raise _refused("unsupported_type")
    return stored, kind


def record_picture(
    session: Session,
    *,
    handoff_id: int,
    staff_id: int,
    stored: StoredFile,
    kind: FileKind,
    now: dt.datetime,
    cipher: FieldCipher,
    redis: redis.Redis | None = None,
    supervisor: bool = False,
) -> HandoffMessage:
    """The message of a stored picture, counted as the agent's answer (ownership checked again: the
    chat may have changed hands while the picture was uploading)."""
    row = owned(session, handoff_id, staff_id, supervisor=supervisor)
    msg = add_message(session, row=row, direction="agent", text=copy.text("handoff_picture_line"),
                      cipher=cipher, now=now, staff_id=staff_id, deliver=True, kind="image",
                      attachment=(stored.key, kind.value))
    answered(session, row=row, msg=msg, staff_id=staff_id, now=now, redis=redis, action="handoff.picture")
    return msg


def send_picture(
    session: Session,
    *,
    handoff_id: int,
    staff_id: int,
    chunks: Iterable[bytes],
    store: FileStore,
    now: dt.datetime,
    cipher: FieldCipher,
    redis: redis.Redis | None = None,
    supervisor: bool = False,
) -> HandoffMessage:
    """The agent sends a picture: only the agent who has the chat (or a supervisor); see the module
    docstring for what happens to it. (The console's route does the same in two transactions, so
    that no database transaction stays open while the upload streams in.)"""
    owned(session, handoff_id, staff_id, supervisor=supervisor)
    stored, kind = store_picture(store, chunks)
    try:
        return record_picture(session, handoff_id=handoff_id, staff_id=staff_id, stored=stored, kind=kind,
                              now=now, cipher=cipher, redis=redis, supervisor=supervisor)
    except BaseException:
        store.delete(stored.key)
        raise


def picture_message(session: Session, *, handoff_id: int, message_id: int) -> HandoffMessage:
    """A picture message of this conversation (404 otherwise: no probing other conversations' ids)."""
    get(session, handoff_id)
    msg = session.get(HandoffMessage, message_id)
    if msg is None or msg.handoff_id != handoff_id or msg.kind != "image" or not msg.attachment_key:
        raise NotFound("picture_not_found", "找不到这张图片", detail={"message_id": message_id})
    return msg


def picture_bytes(store: FileStore, msg: HandoffMessage) -> Iterator[bytes]:
    """The clear bytes of a picture message, chunk by chunk (404 when the file is gone)."""
    assert msg.attachment_key is not None
    try:
        return store.open(msg.attachment_key)
    except FileNotStored:
        raise NotFound("picture_not_found", "图片文件已不在了") from None


def read_picture(store: FileStore, msg: HandoffMessage) -> bytes:
    """The whole clear picture (≤ 10 MB): what the delivery job uploads to WeChat."""
    return b"".join(picture_bytes(store, msg))
