"""The console's picture routes (included by ``backend.handoff.api`` under ``/api/console``).

``POST /conversations/{id}/picture``: multipart with one ``file`` part (JPEG or PNG, ≤ 10 MB), the
CSRF header like every console post, only the agent who has the chat or a supervisor. Who the staff
member is, the CSRF token and the ownership are checked before the body is read; the body is parsed
as it streams (never spooled by Starlette) and refused as soon as it passes the cap; no database
transaction is open meanwhile.

``GET /conversations/{id}/pictures/{message_id}``: the picture for the console's thumbnail, with the
cookie session, only to staff who may read the conversation (A-02), every read audited (A-04).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.db import session_scope
from backend.deps import ClientIp, Now, RedisDep, RowId, RuntimeDep, WriteDbSession
from backend.errors import ERROR_RESPONSES, Forbidden, ServiceError
from backend.handoff.console import get, owned
from backend.handoff.console_auth import SUPERVISORS, _console_role, console_staff, readable_ids
from backend.handoff.console_views import picture_url
from backend.handoff.pictures import (
    FILENAMES,
    MAX_PICTURE_BYTES,
    PICTURE_RESPONSE,
    picture_bytes,
    picture_message,
    record_picture,
    store_picture,
)
from backend.handoff.schemas import MessageSentOut
from backend.staff.deps import StaffPrincipal
from backend.storage.multipart import PartWords, stream_file_part

router = APIRouter(responses=ERROR_RESPONSES)

PICTURE_BODY: dict[str, Any] = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "JPG 或 PNG 图片，最大 10MB（按内容判断类型）"}},
    }}},
}


def _too_large() -> ServiceError:
    return ServiceError("picture_too_large", "图片太大了，最大10MB", status_code=413,
                        detail={"max_bytes": MAX_PICTURE_BYTES})


PICTURE_PART = PartWords(not_multipart=("multipart_required", "请用表单上传图片"),
                         second_file=("one_picture_only", "一次只能发一张图片"),
                         no_file=("picture_empty", "没有收到图片，请重新选择"))


async def read_file_part(request: Request, *, max_bytes: int) -> list[bytes]:
    """The picture of a multipart body (the part named ``file``, or any part with a file name) in
    chunks as it streams in, refused past ``max_bytes``; a second file is refused."""
    chunks: list[bytes] = []
    size = 0

    def take(data: bytes) -> None:
        nonlocal size
        size += len(data)
        if size > max_bytes:
            raise _too_large()
        chunks.append(data)

    await stream_file_part(request, take, words=PICTURE_PART, any_file_name=True)
    return chunks


def _agent(staff: Annotated[StaffPrincipal, Depends(console_staff)]) -> StaffPrincipal:
    return _console_role(staff)


Agent = Annotated[StaffPrincipal, Depends(_agent)]  # cookie session, CSRF on posts, a console role


def _readable(db: Session, staff: StaffPrincipal, handoff_id: int, now: Any) -> None:
    """403 when this staff member may not read the conversation (A-02); the refusal is audited and
    kept although the request fails (A-04)."""
    row = get(db, handoff_id)
    if not readable_ids(db, staff_id=staff.id, role=staff.role, ids={row.id}):
        record_event(db, actor=staff.username, action="read", object_type="handoff", object_id=row.id,
                     ip=staff.ip, at=now, result="refused: forbidden")
        db.commit()
        raise Forbidden("forbidden", "这个会话不归您处理")


@router.post("/conversations/{handoff_id}/picture", response_model=MessageSentOut,
             openapi_extra={"requestBody": PICTURE_BODY}, summary="给客户发图片")
async def console_picture(handoff_id: RowId, request: Request, redis_client: RedisDep, runtime: RuntimeDep,
                          now: Now, ip: ClientIp) -> MessageSentOut:
    """Send the customer a picture (JPG or PNG, at most 10 MB; the type is read from the content,
    location and camera data are removed). It counts as a reply, like ``/reply``.

    No transaction stays open while the body streams in (on SQLite a write transaction holds the
    process's write lock): the cookie, CSRF token, role and ownership are checked in one, the file is
    stored with none, and the message is recorded in a second one (ownership checked again). Both
    run in the thread pool: taking SQLite's write lock in the event loop would stop every request of
    the process, and deadlock it when the lock's holder waits for the loop to finish its own request."""

    def checked() -> StaffPrincipal:
        with session_scope(runtime.sessions, write=True) as db:
            staff = _console_role(console_staff(request, db, runtime, now, ip))
            _readable(db, staff, handoff_id, now)
            owned(db, handoff_id, staff.id, supervisor=staff.role in SUPERVISORS)  # before reading the body
            return staff

    staff = await run_in_threadpool(checked)
    supervisor = staff.role in SUPERVISORS
    chunks = await read_file_part(request, max_bytes=MAX_PICTURE_BYTES)

    def store_and_record() -> MessageSentOut:
        stored, kind = store_picture(runtime.file_store, chunks)
        try:
            with session_scope(runtime.sessions, write=True) as db:
                msg = record_picture(db, handoff_id=handoff_id, staff_id=staff.id, stored=stored, kind=kind,
                                     now=now, cipher=runtime.cipher, redis=redis_client,
                                     supervisor=supervisor)
                return MessageSentOut(id=msg.id, delivery=msg.delivery, image_url=picture_url(msg))
        except BaseException:
            runtime.file_store.delete(stored.key)
            raise

    return await run_in_threadpool(store_and_record)


@router.get("/conversations/{handoff_id}/pictures/{message_id}", summary="看图片（坐席）",
            response_class=StreamingResponse, responses={200: PICTURE_RESPONSE})
def console_picture_file(handoff_id: RowId, message_id: RowId, staff: Agent, db: WriteDbSession,
                         runtime: RuntimeDep, now: Now) -> StreamingResponse:
    """A picture of the conversation (the console's thumbnail); the read is audited (A-04)."""
    _readable(db, staff, handoff_id, now)
    msg = picture_message(db, handoff_id=handoff_id, message_id=message_id)
    body = picture_bytes(runtime.file_store, msg)
    record_event(db, actor=staff.username, action="read", object_type="handoff", object_id=handoff_id,
                 field=f"picture:{msg.id}", purpose="console", ip=staff.ip, at=now)
    ctype = msg.attachment_type or "application/octet-stream"
    return StreamingResponse(body, media_type=ctype, headers={
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="{FILENAMES.get(ctype, "picture")}"'})
