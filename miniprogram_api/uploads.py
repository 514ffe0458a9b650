"""Claim documents: upload (JPEG, PNG, PDF; type from the content; metadata stripped; streamed to
encrypted storage), list and download.

The multipart body (what ``wx.uploadFile`` sends) is parsed as it arrives, never spooled: the
``file`` part goes chunk by chunk through :class:`backend.storage.ingest.Ingest`; the size cap is
enforced while reading (and before reading, for the whole body, by ``miniprogram_api.limits``).
Checks that need no body (the claim is yours and open, the count cap, consent, rate limit,
idempotency) run first.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from backend.accounts import access
from backend.claims.attachments import AttachmentStatus, attach_media, count_attachments, list_attachments
from backend.claims.workflow import ensure_not_frozen
from backend.deps import DbSession, RuntimeDep
from backend.errors import Conflict, ServiceError
from backend.idempotency import service as idem
from backend.privacy.service import check_claim_consent
from backend.storage.ingest import FileTooLarge, Ingest
from backend.storage.multipart import PartWords, stream_file_part
from backend.storage.sanitize import FileRejected
from miniprogram_api.claim_view import AttachmentOut, attachment_view
from miniprogram_api.deps import CurrentCustomer, IdempotencyKey, Now, RowId, limit
from miniprogram_api.schemas import Items

router = APIRouter(tags=["材料"])
MaterialQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=r"^[a-z0-9_]+$",
        examples=["medical_record"],
        description="这份文件是清单里的哪一项（可不填）",
    ),
]
_MESSAGES = {
    "unsupported_type": "只能上传照片（JPG、PNG）或 PDF 文件",
    "empty": "文件是空的，请重新选择",
    "image_too_large": "照片太大了，请换一张或用手机正常拍照",
    "image_corrupt": "照片不完整，请重新拍一张",
    "not_jpeg": "照片不完整，请重新拍一张",
    "not_png": "照片不完整，请重新拍一张",
    "pdf_corrupt": "PDF 文件不完整，请重新选择",
    "pdf_encrypted": "PDF 有密码，请上传没有密码的文件",
}
_PDF_UNSAFE = "PDF 里有不安全的内容，请拍照上传或换一个文件"
UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "照片或 PDF（wx.uploadFile 的 name 填 file）",
                    }
                },
            }
        }
    },
}


def _rejected(code: str) -> ServiceError:
    return ServiceError(f"file_{code}", _MESSAGES.get(code, _PDF_UNSAFE), detail={"reason": code})


def _too_large(runtime: RuntimeDep) -> ServiceError:
    mb = runtime.settings.miniprogram.max_upload_bytes // (1024 * 1024)
    return ServiceError(
        "file_too_large",
        f"文件太大了，每个文件不能超过{mb}MB",
        status_code=413,
        detail={"max_bytes": runtime.settings.miniprogram.max_upload_bytes},
    )


def _precheck(
    db: Session,
    *,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    claim_id: int,
    material_id: str | None,
    now: dt.datetime,
) -> None:
    claim = access.visible_claim(db, account=customer.account, claim_id=claim_id)
    ensure_not_frozen(claim)
    if material_id is not None and material_id not in {m.material_id for m in claim.materials}:
        raise ServiceError("unknown_material", "这个案件不需要这项材料", detail={"field": "material_id"})
    cap = runtime.settings.miniprogram.max_files_per_claim
    if count_attachments(db, claim_id=claim.id) >= cap:
        raise ServiceError(
            "too_many_files",
            f"这个案件最多上传{cap}个文件，请联系工作人员",
            status_code=413,
            detail={"max_files": cap},
        )
    check_claim_consent(
        db, claim=claim, category="medical", actor=f"customer:{customer.account.openid}", now=now
    )


UPLOAD_PART = PartWords(not_multipart=("multipart_required", "请用表单上传文件（wx.uploadFile）"),
                        second_file=("one_file_only", "一次只能上传一个文件"),
                        no_file=("file_missing", "请选择要上传的文件"))


async def _receive_file(request: Request, ingest: Ingest) -> None:
    """Parse the multipart body as it streams; the ``file`` part goes into ``ingest``."""
    await stream_file_part(request, ingest.feed, words=UPLOAD_PART)


ATTACHMENT_LINKS = {
    "Download": {
        "operationId": "download_mp_v1_claims__claim_id__attachments__attachment_id__content_get",
        "parameters": {"claim_id": "$request.path.claim_id", "attachment_id": "$response.body#/id"},
    },
    "ClaimDetail": {
        "operationId": "claim_detail_mp_v1_claims__claim_id__get",
        "parameters": {"claim_id": "$request.path.claim_id"},
    },
}


@router.post(
    "/claims/{claim_id}/attachments",
    response_model=AttachmentOut,
    status_code=201,
    openapi_extra={"requestBody": UPLOAD_BODY},
    summary="上传材料（照片或 PDF）",
    responses={201: {"description": "收好的文件", "links": ATTACHMENT_LINKS}},
)
async def upload(
    claim_id: RowId,
    request: Request,
    key: IdempotencyKey,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    db: DbSession,
    now: Now,
    response: Response,
    material_id: MaterialQuery = None,
) -> AttachmentOut:
    """One file per request, at most 10 MB, at most 20 per claim. The type is read from the content
    (never the file name); location and camera data are removed from photos."""
    owner = f"customer:{customer.id}"
    fp = idem.fingerprint("claims.attach", {"claim": claim_id, "material": material_id})
    existing = idem.begin(db, owner=owner, key=key, operation="claims.attach", fp=fp, now=now)
    if existing is not None:
        response.headers["Idempotent-Replayed"] = "true"
        return attachment_view(
            access.visible_attachment(db, account=customer.account, claim_id=claim_id, attachment_id=existing)
        )
    _precheck(db, customer=customer, runtime=runtime, claim_id=claim_id, material_id=material_id, now=now)
    limit(runtime, "upload_per_user", str(customer.id))
    ingest = Ingest(
        runtime.file_store, namespace="claims", max_bytes=runtime.settings.miniprogram.max_upload_bytes
    )
    try:
        await _receive_file(request, ingest)
        stored, kind = ingest.finish()
    except FileTooLarge:
        ingest.abort()
        raise _too_large(runtime) from None
    except FileRejected as exc:
        ingest.abort()
        raise _rejected(exc.code) from None
    except BaseException:
        ingest.abort()
        raise
    try:
        row = attach_media(
            db,
            cipher=runtime.cipher,
            claim_id=claim_id,
            channel=customer.account.channel,
            actor=f"customer:{customer.account.openid}",
            storage_key=stored.key,
            content_type=kind.value,
            material_id=material_id,
            now=now,
            size_bytes=stored.size,
            sha256=stored.sha256,
        )
        idem.finish(db, owner=owner, key=key, resource_id=row.id)
        db.flush()
    except BaseException:
        runtime.file_store.delete(stored.key)
        raise
    return attachment_view(row)


@router.get("/claims/{claim_id}/attachments", response_model=Items[AttachmentOut], summary="案件的材料文件")
def attachments(claim_id: RowId, customer: CurrentCustomer, db: DbSession) -> Items[AttachmentOut]:
    """Every file of a claim you may see, oldest first."""
    access.visible_claim(db, account=customer.account, claim_id=claim_id)
    return Items[AttachmentOut](items=[attachment_view(r) for r in list_attachments(db, claim_id=claim_id)])


_EXT = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


@router.get(
    "/claims/{claim_id}/attachments/{attachment_id}/content",
    response_class=Response,
    responses={
        200: {
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in _EXT},
            "description": "文件内容（作为附件下载）",
        }
    },
    summary="下载材料文件",
)
def download(
    claim_id: RowId, attachment_id: RowId, customer: CurrentCustomer, runtime: RuntimeDep, db: DbSession
) -> Response:
    """The cleaned file, as a download (never rendered inline: ``nosniff``, ``attachment``)."""
    row = access.visible_attachment(
        db, account=customer.account, claim_id=claim_id, attachment_id=attachment_id
    )
    if row.status != AttachmentStatus.STORED.value or not row.storage_key:
        raise Conflict("attachment_not_ready", "这份文件还没有收好，请稍后再看")
    body = runtime.file_store.open(row.storage_key)
    headers = {
        "Content-Disposition": f'attachment; filename="{row.id}.{_EXT.get(row.content_type, "bin")}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    if row.size_bytes is not None:
        headers["Content-Length"] = str(row.size_bytes)
    return StreamingResponse(body, media_type=row.content_type, headers=headers)
