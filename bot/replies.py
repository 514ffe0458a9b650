"""Turning :class:`BotReply` lists into WeChat messages: passive XML and customer-service sends.

WeChat drops a text message longer than about 2,048 bytes (catalogue W-12): texts are split at
line breaks where possible and never inside a character. A passive reply carries one message; the
rest go out through the customer-service message API.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from wechatpy.replies import ArticlesReply, TextReply

from bot.contract import BotReply, NewsItem

MAX_TEXT_BYTES = 2048
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class OutMessage:
    """One message to the user: a text, or one news article."""

    text: str = ""
    news: tuple[NewsItem, ...] = ()


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, cut at a line break, else a space, else a character."""
    text = _XML_INVALID.sub("", text)
    pieces: list[str] = []
    while len(text.encode("utf-8")) > limit:
        cut = len(text.encode("utf-8")[:limit].decode("utf-8", "ignore"))  # whole characters only
        head = text[:cut]
        for sep in ("\n", "。", " "):
            pos = head.rfind(sep)
            if pos >= cut // 2:
                cut = pos + 1
                break
        pieces.append(text[:cut].rstrip("\n"))
        text = text[cut:].lstrip("\n")
    if text or not pieces:
        pieces.append(text)
    return pieces


def plan_messages(replies: list[BotReply], limit: int = MAX_TEXT_BYTES) -> list[OutMessage]:
    """Consecutive texts merged while they fit in one message, long ones split, news kept."""
    out: list[OutMessage] = []
    buffer = ""
    for reply in replies:
        if reply.text:
            joined = f"{buffer}\n\n{reply.text}" if buffer else reply.text
            if len(joined.encode("utf-8")) <= limit:
                buffer = joined
            else:
                if buffer:
                    out.extend(OutMessage(text=t) for t in split_text(buffer, limit))
                buffer = reply.text
        if reply.news:
            if buffer:
                out.extend(OutMessage(text=t) for t in split_text(buffer, limit))
                buffer = ""
            out.append(OutMessage(news=reply.news))
    if buffer:
        out.extend(OutMessage(text=t) for t in split_text(buffer, limit))
    return [m for m in out if m.text.strip() or m.news]


def _cdata(value: str) -> str:
    return _XML_INVALID.sub("", value).replace("]]>", "]]]]><![CDATA[>")


def render_passive(message: OutMessage, *, to_user: str, from_user: str, now: int | None = None) -> str:
    """The passive-reply XML (plain; the webhook encrypts it in safe mode)."""
    created = int(time.time()) if now is None else now
    if message.news:
        reply = ArticlesReply(source=_cdata(from_user), target=_cdata(to_user), time=created)
        for item in message.news[:1]:  # WeChat shows one article in a passive news reply
            reply.add_article({"title": _cdata(item.title), "description": _cdata(item.description),
                               "image": _cdata(item.image_url), "url": _cdata(item.url)})
        return str(reply.render())
    text_reply = TextReply(source=_cdata(from_user), target=_cdata(to_user), time=created,
                           content=_cdata(message.text))
    return str(text_reply.render())
