"""W-16: fetch what customers send in WeChat before it expires (WeChat keeps it 3 days).

The ``claims.fetch_media`` job of one attachment (armed by ``attach_media`` in the transaction that
recorded it) downloads the media id through the official account's API, checks what the bytes are
by their content, never the name or the header WeChat sent: a picture or a file (JPEG, PNG or PDF,
image metadata stripped) or a voice message (AMR or Speex, kept as it came), stores them encrypted
through the file store, and marks the attachment stored (linked to its claim and checklist item)
with the content type found. 40007, or bytes we do not accept, mark it expired / rejected and ask
the customer to send it again.

A worker that dies after storing the file and before its commit leaves an unreferenced file; the
next run stores the picture again under a new key (the orphan holds nothing anyone can reach).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from backend.claims.attachments import AttachmentStatus, mark_expired, mark_stored
from backend.claims.models import ClaimAttachment
from backend.gateways.exceptions import WechatMediaExpired
from backend.hooks import JobContext, JobRow, RetryLater
from backend.storage.ingest import FileTooLarge, Ingest
from backend.storage.sanitize import FileRejected
from backend.storage.voice import store_voice

log = logging.getLogger(__name__)
MAX_MEDIA_BYTES = 20 * 1024 * 1024  # WeChat's own limit for a file message


def fetch_media(ctx: JobContext, session: Session, row: JobRow) -> None:
    """Download, check and store one attachment (see the module doc)."""
    now = ctx.now()
    attachment = session.get(ClaimAttachment, int(row.key))
    if attachment is None or attachment.status != AttachmentStatus.PENDING_FETCH.value:
        return
    gateway, store = ctx.services.get("wechat"), ctx.services.get("storage")
    if gateway is None or store is None or not attachment.media_id:
        raise RetryLater(now + dt.timedelta(minutes=10), "official account API or file store not configured")
    try:
        data = gateway.download_media(attachment.media_id)
    except WechatMediaExpired:
        log.info("attachment %s: media expired; the customer is asked to send it again", attachment.id)
        mark_expired(session, attachment_id=attachment.id, now=now)
        return
    if len(data) > MAX_MEDIA_BYTES:
        _refuse(session, attachment, now, "FileTooLarge")
        return
    voice = store_voice(store, data, namespace="claims")
    if voice is not None:
        mark_stored(session, attachment_id=attachment.id, storage_key=voice[0].key, now=now,
                    content_type=voice[1].value)
        return
    ingest = Ingest(store, namespace="claims", max_bytes=MAX_MEDIA_BYTES)
    try:
        ingest.feed(data)
        stored, kind = ingest.finish()
    except (FileRejected, FileTooLarge) as exc:
        ingest.abort()
        _refuse(session, attachment, now, type(exc).__name__)
        return
    mark_stored(session, attachment_id=attachment.id, storage_key=stored.key, now=now,
                content_type=kind.value)


def _refuse(session: Session, attachment: ClaimAttachment, now: dt.datetime, why: str) -> None:
    log.info("attachment %s refused (%s); the customer is asked again", attachment.id, why)
    mark_expired(session, attachment_id=attachment.id, now=now, status=AttachmentStatus.REJECTED.value)
