"""Files sent for a claim: WeChat pictures (a ``MediaId``, deleted by WeChat 3 days after it was sent:
catalogue W-16) and files already in our storage (a ``storage_key``).

A WeChat picture is recorded at once as ``pending_fetch`` so a download job can fetch it within
minutes (``to_fetch`` → ``mark_stored`` or ``mark_expired``); the checklist item it belongs to is set
when the customer says which document it is (``assign_material``). Ticking the checklist stays
:func:`backend.claims.materials.mark_material`. Pictures count as medical records: attaching one needs
the ``medical`` consent (D-04). A redelivered picture (same channel and media id) is recorded once.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.calendar.service import SHANGHAI
from backend.claims import validation as v
from backend.claims.models import PURPOSE_REPORTER_PHONE, ClaimAttachment
from backend.claims.queries import get_claim
from backend.claims.workflow import ensure_not_frozen, record_claim_event
from backend.db import utcnow
from backend.errors import Conflict, NotFound, ServiceError
from backend.jobs import service as jobs
from backend.outbox import claim_recipient, enqueue_notice
from backend.privacy.service import check_claim_consent
from backend.security.crypto import FieldCipher


class AttachmentStatus(StrEnum):
    """Where an attachment's bytes are."""

    PENDING_FETCH = "pending_fetch"
    STORED = "stored"
    EXPIRED = "expired"  # WeChat no longer had it (40007): the customer was asked to send it again
    REJECTED = "rejected"  # not a picture, PDF or voice we accept (or too large): asked again too


FETCH_KIND = "claims.fetch_media"


def attach_media(
    session: Session,
    *,
    cipher: FieldCipher,
    claim_id: int,
    channel: str,
    actor: str,
    media_id: str | None = None,
    storage_key: str | None = None,
    content_type: str = "image/jpeg",
    material_id: str | None = None,
    now: dt.datetime | None = None,
    size_bytes: int | None = None,
    sha256: str | None = None,
) -> ClaimAttachment:
    """Record a file sent for a claim (a WeChat media id to fetch, or a stored file); idempotent."""
    now = now or utcnow()
    who = v.actor(actor)
    chan = v.channel(channel)
    media = v.text(media_id, field="media_id", label="图片编号", max_len=128, required=False)
    key = v.text(storage_key, field="storage_key", label="文件位置", max_len=200, required=False)
    if (media is None) == (key is None):
        raise ServiceError("invalid_input", "请发一张图片或一个文件", detail={"field": "media_id"})
    ctype = v.required_text(content_type, field="content_type", label="文件类型", max_len=64)
    claim = get_claim(session, claim_id=claim_id)
    if media is not None:
        existing = session.scalar(select(ClaimAttachment).where(ClaimAttachment.channel == chan,
                                                                ClaimAttachment.media_id == media))
        if existing is not None:
            if existing.claim_id != claim.id:
                raise Conflict("attachment_exists", "这张图片已经交到别的案件里了",
                               detail={"field": "media_id"})
            return existing
    ensure_not_frozen(claim)
    if material_id is not None:
        _check_material(claim_id=claim.id, material_ids=[m.material_id for m in claim.materials],
                        material_id=material_id)
    check_claim_consent(session, claim=claim, category="medical", actor=who, now=now)
    row = ClaimAttachment(
        claim_id=claim.id, material_id=material_id, channel=chan, media_id=media, storage_key=key,
        content_type=ctype, received_at=now, actor=who, size_bytes=size_bytes, sha256=sha256,
        status=(AttachmentStatus.PENDING_FETCH if media else AttachmentStatus.STORED).value,
        fetched_at=None if media else now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # the same picture, recorded by a concurrent delivery
        again = session.scalar(select(ClaimAttachment).where(ClaimAttachment.channel == chan,
                                                             ClaimAttachment.media_id == media))
        if again is None or again.claim_id != claim.id:
            raise
        return again
    record_claim_event(session, claim, cipher=cipher, kind="attachment", actor=who, at=now,
                       reason="收到材料文件")
    if row.status == AttachmentStatus.PENDING_FETCH.value:  # W-16: fetched by a job within minutes
        jobs.schedule(session, kind=FETCH_KIND, key=str(row.id), due_at=now, replace=False, now=now)
    return row


def _check_material(*, claim_id: int, material_ids: list[str], material_id: str) -> None:
    if material_id not in material_ids:
        raise NotFound("unknown_material", "这个案件不需要这项材料",
                       detail={"claim_id": claim_id, "material_id": material_id, "allowed": material_ids})


def _get(session: Session, attachment_id: int) -> ClaimAttachment:
    row = session.get(ClaimAttachment, attachment_id)
    if row is None:
        raise NotFound("attachment_not_found", "找不到这份材料文件")
    return row


def assign_material(session: Session, *, attachment_id: int, material_id: str) -> ClaimAttachment:
    """Say which checklist item an attachment is (the claim must not be frozen)."""
    row = _get(session, attachment_id)
    claim = get_claim(session, claim_id=row.claim_id)
    ensure_not_frozen(claim)
    _check_material(claim_id=claim.id, material_ids=[m.material_id for m in claim.materials],
                    material_id=material_id)
    row.material_id = material_id
    session.flush()
    return row


def list_attachments(session: Session, *, claim_id: int, status: str | None = None) -> list[ClaimAttachment]:
    """A claim's attachments, oldest first (optionally of one status)."""
    get_claim(session, claim_id=claim_id)
    query = select(ClaimAttachment).where(ClaimAttachment.claim_id == claim_id)
    if status is not None:
        query = query.where(ClaimAttachment.status == AttachmentStatus(status).value)
    return list(session.scalars(query.order_by(ClaimAttachment.id)))


def to_fetch(session: Session, *, limit: int = 100) -> list[ClaimAttachment]:
    """WeChat pictures still to download, oldest first (for the download job)."""
    query = (select(ClaimAttachment).where(ClaimAttachment.status == AttachmentStatus.PENDING_FETCH.value)
             .order_by(ClaimAttachment.received_at, ClaimAttachment.id).limit(max(1, limit)))
    return list(session.scalars(query))


def count_attachments(session: Session, *, claim_id: int) -> int:
    """How many files a claim has (any status)."""
    return int(session.scalar(select(func.count()).select_from(ClaimAttachment)
                              .where(ClaimAttachment.claim_id == claim_id)) or 0)


def mark_stored(session: Session, *, attachment_id: int, storage_key: str,
                now: dt.datetime | None = None, content_type: str | None = None) -> ClaimAttachment:
    """The picture was downloaded and stored under ``storage_key`` (idempotent)."""
    row = _get(session, attachment_id)
    key = v.required_text(storage_key, field="storage_key", label="文件位置", max_len=200)
    if row.status == AttachmentStatus.STORED.value:
        return row
    row.status, row.storage_key, row.fetched_at = AttachmentStatus.STORED.value, key, now or utcnow()
    if content_type:
        row.content_type = content_type
    session.flush()
    return row


def mark_expired(session: Session, *, attachment_id: int, now: dt.datetime | None = None,
                 status: str = AttachmentStatus.EXPIRED.value) -> ClaimAttachment:
    """WeChat no longer has the picture (errcode 40007), or it is not a file we accept
    (``status="rejected"``): the customer is asked to send it again (a notice, in this transaction)."""
    now = now or utcnow()
    row = _get(session, attachment_id)
    if row.status == AttachmentStatus.PENDING_FETCH.value:
        row.status, row.fetched_at = AttachmentStatus(status).value, now
        session.flush()
        claim = get_claim(session, claim_id=row.claim_id)
        when = row.received_at.astimezone(SHANGHAI)
        enqueue_notice(session, key=f"attachment:{row.id}:resend", kind="media_resend", subject_type="claim",
                       subject_id=claim.id, params={"case_no": claim.case_no,
                                                    "when": f"{when.month}月{when.day}日{when:%H:%M}"},
                       recipient=claim_recipient(claim, phone_purpose=PURPOSE_REPORTER_PHONE), now=now)
    return row
