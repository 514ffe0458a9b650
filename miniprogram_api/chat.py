"""Chat with the dialogue engine and the human agents, by polling: the mini-program's own chat channel
(``mini_program``, the customer's openid), answered by the same engine as the official account.

* ``POST /chat/messages`` — send a text; the answer is the message and the bot's replies. The engine
  runs once per ``Idempotency-Key`` (a retried send returns the first answer, ``repeated``).
* ``GET /chat/messages?after=`` — everything since the cursor, oldest first: the customer's lines,
  the bot's, and an agent's replies and system lines once delivered (an agent in the console answers
  here as on the web chat page: non-WeChat channels are delivered by being read).
* ``GET /chat/pictures/{message_id}`` — a picture an agent sent to this customer (theirs only).

It is the web chat page's path (``backend.webchat``) with the channel as a parameter: the engine is the
one the composition root hands over as ``runtime.chat_turn`` (``miniprogram_api`` never imports ``bot``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from backend.deps import CipherDep, DbSession, RuntimeDep
from backend.errors import NotFound, ServiceError
from backend.handoff.pictures import PICTURE_RESPONSE, picture_bytes
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from backend.webchat import copy
from backend.webchat import service as webchat
from miniprogram_api.deps import MAX_ROW_ID, CurrentCustomer, IdempotencyKey, RowId
from miniprogram_api.schemas import In

router = APIRouter(tags=["聊天"])
CHANNEL = "mini_program"
PICTURES = "/mp/v1/chat/pictures/"
Cursor = Annotated[
    str | None,
    Query(max_length=21, pattern=r"^\d{1,10}\.\d{1,10}$", description="上次返回的 cursor；第一次不带"),
]


class MessageIn(In):
    text: str = Field(
        max_length=2000, examples=["我的理赔到哪一步了"], description="客户输入的文字（最多500字）"
    )


class ChatLine(BaseModel):
    """One line of the chat."""

    id: str = Field(examples=["b41.0"], description="稳定编号：据此去重")
    role: Literal["customer", "bot", "agent", "system"] = Field(examples=["bot"])
    text: str = Field(examples=["您的案件正在审核，预计12月3日前有结果。"])
    at: dt.datetime
    image: str | None = Field(default=None, description="工作人员发来的图片地址（带登录 token 才能打开）")


class SentOut(BaseModel):
    """Your message and the bot's replies; ``repeated``: this Idempotency-Key was answered before."""

    items: list[ChatLine]
    repeated: bool = False


class ChatPageOut(BaseModel):
    """Everything after the cursor; pass ``cursor`` as ``after`` in the next poll (every 1–2 seconds)."""

    items: list[ChatLine]
    cursor: str = Field(examples=["41.7"])


def lines(items: list[dict[str, object]]) -> list[ChatLine]:
    out = []
    for item in items:
        if item.get("image"):
            item = {**item, "image": f"{PICTURES}{str(item['id']).removeprefix('h')}"}
        out.append(ChatLine.model_validate(item))
    return out


def check_text(raw: str) -> str:
    text = raw.strip()
    if not text:
        raise ServiceError("empty_text", copy.EMPTY_TEXT)
    if len(text) > webchat.MAX_TEXT:
        raise ServiceError(
            "text_too_long",
            copy.TEXT_TOO_LONG.format(limit=webchat.MAX_TEXT),
            detail={"max_chars": webchat.MAX_TEXT},
        )
    return text


async def run_message(runtime: Runtime, *, account_id: int, openid: str, text: str, key: str) -> SentOut:
    """One customer message through the engine, once per ``key`` (the POST and the socket alike)."""
    text = check_text(text)
    if runtime.chat_turn is None:
        raise ServiceError("chat_unavailable", copy.NOT_READY, status_code=503)
    msg_key = f"mp:{account_id}:{key}"
    ran = await run_in_threadpool(
        runtime.chat_turn, channel=CHANNEL, user_id=openid, text=text, msg_key=msg_key
    )
    with runtime.sessions() as session:
        items = webchat.message_items(session, cipher=runtime.cipher, msg_key=msg_key)
    return SentOut(items=lines(items), repeated=not ran)


@router.post("/chat/messages", response_model=SentOut, summary="发消息给客服")
async def send(
    body: MessageIn, key: IdempotencyKey, customer: CurrentCustomer, runtime: RuntimeDep, response: Response
) -> SentOut:
    """The bot answers at once (the answer is in this response); an agent's later replies come in the
    poll. Send the same ``Idempotency-Key`` when retrying: the message is handled once."""
    out = await run_message(
        runtime, account_id=customer.id, openid=customer.account.openid, text=body.text, key=key
    )
    if out.repeated:
        response.headers["Idempotent-Replayed"] = "true"
    return out


def parse_cursor(raw: str | None) -> webchat.Cursor:
    """The poll's cursor (none: from the start); one past any row id is a 400."""
    since = webchat.parse_cursor(raw)
    if max(since.inbox, since.handoff) > MAX_ROW_ID:  # no row has such an id (and PostgreSQL refuses it)
        raise ServiceError("bad_cursor", copy.BAD_CURSOR)
    return since


def lines_after(db: Session, *, cipher: FieldCipher, openid: str, since: webchat.Cursor) -> ChatPageOut:
    items, cursor = webchat.lines_after(db, cipher=cipher, user_id=openid, after=since, channel=CHANNEL)
    return ChatPageOut(items=lines(items), cursor=str(cursor))


@router.get("/chat/messages", response_model=ChatPageOut, summary="收消息（轮询）")
def poll(customer: CurrentCustomer, db: DbSession, cipher: CipherDep, after: Cursor = None) -> ChatPageOut:
    """Your chat after the cursor, oldest first: your messages, the bot's and the agents' replies."""
    return lines_after(db, cipher=cipher, openid=customer.account.openid, since=parse_cursor(after))


@router.get(
    "/chat/pictures/{message_id}",
    response_class=StreamingResponse,
    responses={200: PICTURE_RESPONSE},
    summary="工作人员发来的图片",
)
def picture(
    message_id: RowId, customer: CurrentCustomer, runtime: RuntimeDep, db: DbSession
) -> StreamingResponse:
    """A picture an agent sent you (someone else's is the same 404 as none)."""
    msg = webchat.customer_picture(
        db, user_id=customer.account.openid, message_id=message_id, channel=CHANNEL
    )
    if msg is None:
        raise NotFound("picture_not_found", copy.PICTURE_NOT_FOUND)
    return StreamingResponse(
        picture_bytes(runtime.file_store, msg),
        media_type=msg.attachment_type or "application/octet-stream",
        headers={"Cache-Control": "private, no-store"},
    )
