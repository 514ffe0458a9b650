"""A WeChat peer for the evaluations: builds the pushes WeChat sends (signed, AES in safe mode).

Message kinds follow the published protocol (接收普通消息 / 接收事件推送): text, voice (with or without
``Recognition``), image, location, link and menu CLICK events.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any
from xml.etree import ElementTree

from bot.crypto import MessageCrypto, sha1_signature

_ids = itertools.count(int(time.time() * 1000) % 10**12 * 1000)


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def inner_xml(turn: str | dict[str, Any], *, openid: str, to_user: str, create_time: int) -> str:
    """The plaintext push of one customer turn (a string is a text message)."""
    item: dict[str, Any] = {"type": "text", "text": turn} if isinstance(turn, str) else dict(turn)
    kind = item.get("type", "text")
    head = (f"<ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(openid)}</FromUserName>"
            f"<CreateTime>{create_time}</CreateTime>")
    msg_id = f"<MsgId>{next(_ids)}</MsgId>"
    media = f"<MediaId>{_cdata('media_' + secrets.token_hex(8))}</MediaId>"
    if kind == "text":
        body = f"<MsgType>{_cdata('text')}</MsgType><Content>{_cdata(str(item.get('text', '')))}</Content>"
    elif kind == "voice":
        body = f"<MsgType>{_cdata('voice')}</MsgType>{media}<Format>{_cdata('amr')}</Format>"
        if item.get("recognition") is not None:
            body += f"<Recognition>{_cdata(str(item['recognition']))}</Recognition>"
    elif kind == "image":
        body = (f"<MsgType>{_cdata('image')}</MsgType><PicUrl>{_cdata('http://mmbiz.qpic.cn/x.jpg')}"
                f"</PicUrl>{media}")
    elif kind == "location":
        body = (f"<MsgType>{_cdata('location')}</MsgType><Location_X>23.25</Location_X>"
                f"<Location_Y>116.41</Location_Y><Scale>15</Scale>"
                f"<Label>{_cdata(str(item.get('label', '')))}</Label>")
    elif kind == "link":
        body = (f"<MsgType>{_cdata('link')}</MsgType><Title>{_cdata(str(item.get('title', '')))}</Title>"
                f"<Description>{_cdata(str(item.get('description', '')))}</Description>"
                f"<Url>{_cdata(str(item.get('url', 'https://example.com/a')))}</Url>")
    elif kind == "menu":
        return (f"<xml>{head}<MsgType>{_cdata('event')}</MsgType><Event>{_cdata('CLICK')}</Event>"
                f"<EventKey>{_cdata(str(item.get('key', '')))}</EventKey></xml>")
    else:
        raise ValueError(f"unknown turn type {kind!r}")
    return f"<xml>{head}{body}{msg_id}</xml>"


class Peer:
    """Signs and encrypts pushes for one official account, and reads its passive replies."""

    def __init__(self, *, token: str, app_id: str, aes_key: str, to_user: str) -> None:
        self.token = token
        self.to_user = to_user
        self.crypto = MessageCrypto(token=token, app_id=app_id, encoding_aes_key=aes_key)

    def request(self, inner: str) -> tuple[dict[str, str], bytes]:
        """Query parameters and body of the safe-mode POST carrying ``inner``."""
        ts, nonce = str(int(time.time())), secrets.token_hex(5)
        enc = self.crypto.encrypt(inner)
        params = {"timestamp": ts, "nonce": nonce, "signature": sha1_signature(self.token, ts, nonce),
                  "encrypt_type": "aes", "msg_signature": sha1_signature(self.token, ts, nonce, enc)}
        body = f"<xml><ToUserName>{_cdata(self.to_user)}</ToUserName><Encrypt>{_cdata(enc)}</Encrypt></xml>"
        return params, body.encode()

    def passive_texts(self, content: bytes) -> list[str]:
        """The texts of a passive reply (``success`` or empty → none)."""
        if content in (b"", b"success"):
            return []
        root = ElementTree.fromstring(content)
        encrypted = root.findtext("Encrypt")
        if encrypted:
            root = ElementTree.fromstring(self.crypto.decrypt(encrypted)[0])
        if root.findtext("MsgType") == "news":
            return ["\n".join(f"{item.findtext('Title') or ''} {item.findtext('Description') or ''}"
                              for item in root.iter("item"))]
        return [root.findtext("Content") or ""]
