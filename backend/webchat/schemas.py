"""The web chat API's bodies."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class SendIn(BaseModel):
    """A customer's message; ``client_id`` is the page's id of it (a retried send reuses it)."""

    text: str = Field(default="", description="客户输入的文字")
    client_id: str = Field(default="", description="页面给这条消息的编号（8–64 位字母、数字、_ -）")


class ChatItem(BaseModel):
    """One line of the chat, oldest first: the customer's, the bot's, an agent's or a system line."""

    id: str = Field(description="稳定编号：页面据此去重")
    role: Literal["customer", "bot", "agent", "system"]
    text: str
    at: dt.datetime
    image: str | None = Field(default=None, description="工作人员发来的图片（只有本人的聊天页面能打开）")


class SendOut(BaseModel):
    """The message and the bot's replies; ``repeated`` when this client_id had been answered before."""

    items: list[ChatItem]
    repeated: bool = False


class ChatPage(BaseModel):
    """Everything after the cursor; pass ``cursor`` as ``after`` in the next poll."""

    items: list[ChatItem]
    cursor: str
