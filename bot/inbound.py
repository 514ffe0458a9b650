"""Safe XML parsing of WeChat pushes and their translation into :class:`InboundMessage`.

Any DOCTYPE/ENTITY is refused before parsing (xmltodict would refuse it too); duplicated fields,
a root other than ``<xml>``, a missing ``MsgType`` or invalid UTF-8 are one :class:`MalformedMessage`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from xml.etree import ElementTree

from bot.contract import InboundMessage

CHANNEL = "official_account"
_FORBIDDEN = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
_STRUCTURED = frozenset({"ArticleCount", "Articles", "SendLocationInfo", "SendPicsInfo", "ScanCodeInfo"})
_KINDS = {"text", "voice", "image", "location", "link", "video", "shortvideo", "file", "event"}


class MalformedMessage(Exception):
    """The XML cannot be used; ``reason`` is a short code for logs (never the body)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_xml(body: bytes) -> dict[str, str]:
    """The ``<xml>`` element's children as strings; refuses DTDs, bad UTF-8 and nested/duplicate fields.

    The C ElementTree parser (expat, which refuses entity bombs since 2.4.1, checked at start-up)
    after a refusal of any DOCTYPE/ENTITY declaration, so no entity is ever defined or expanded.
    It is parsed from the decoded text: an ``encoding`` in the XML declaration cannot override UTF-8.
    """
    if _FORBIDDEN.search(body):
        raise MalformedMessage("doctype")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage("invalid_utf8") from None
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - DTDs refused above; expat version checked
    except (ElementTree.ParseError, ValueError):
        raise MalformedMessage("bad_xml") from None
    if root.tag != "xml":
        raise MalformedMessage("bad_root")
    out: dict[str, str] = {}
    for child in root:
        name = child.tag
        if len(child) or name in out:
            if name in _STRUCTURED:
                continue  # structured event payloads we do not use
            raise MalformedMessage("duplicate_or_nested_field")
        out[name] = (child.text or "").strip()
    return out


def _created_at(raw: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(raw), dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _float(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        return 0.0


def to_inbound(fields: dict[str, str]) -> InboundMessage:
    """The channel-agnostic message; unknown types become ``kind="unknown"``, never an error."""
    msg_type = fields.get("MsgType", "").strip().lower()
    user = fields.get("FromUserName", "").strip()
    if not msg_type:
        raise MalformedMessage("no_msg_type")
    if not user:
        raise MalformedMessage("no_from_user")
    create_time = fields.get("CreateTime", "").strip()
    msg_id = fields.get("MsgId", "").strip()
    event = (fields.get("Event", "").strip().lower() or None) if msg_type == "event" else None
    if msg_id and msg_type != "event":
        msg_key = f"m:{msg_id}"
    else:
        # Events (and id-less pushes): FromUserName + CreateTime (+ event, so two events in one
        # second, e.g. subscribe then a menu click, are not taken for duplicates).
        msg_key = f"e:{user}:{create_time}:{event or msg_type}"
    kind = msg_type if msg_type in _KINDS else "unknown"
    if kind == "shortvideo":
        kind = "video"
    common: dict[str, Any] = {
        "channel": CHANNEL, "user_id": user, "msg_key": msg_key, "raw_type": msg_type,
        "created_at": _created_at(create_time), "media_id": fields.get("MediaId") or None,
    }
    if kind == "text":
        return InboundMessage(kind=kind, text=fields.get("Content", ""), **common)
    if kind == "voice":
        return InboundMessage(kind=kind, text=(fields.get("Recognition") or "").strip(), **common)
    if kind == "image":
        return InboundMessage(kind=kind, pic_url=fields.get("PicUrl") or None, **common)
    if kind == "location":
        loc = (_float(fields.get("Location_X", "")), _float(fields.get("Location_Y", "")),
               fields.get("Label", ""))
        return InboundMessage(kind=kind, location=loc, **common)
    if kind == "link":
        return InboundMessage(kind=kind, text=fields.get("Title", ""), **common)
    if kind == "file":
        return InboundMessage(kind=kind, text=fields.get("Title", ""), **common)
    if kind == "event":
        key = fields.get("EventKey") or None
        if event == "subscribe" and key and key.startswith("qrscene_"):
            key = key[len("qrscene_"):]
        if event == "location":
            loc = (_float(fields.get("Latitude", "")), _float(fields.get("Longitude", "")), "")
            return InboundMessage(kind=kind, event=event, location=loc, **common)
        if event == "templatesendjobfinish":
            key = fields.get("Status") or key
            common["media_id"] = None
            return InboundMessage(kind=kind, event=event, event_key=key,
                                  text=fields.get("MsgID", fields.get("MsgId", "")), **common)
        return InboundMessage(kind=kind, event=event, event_key=key, **common)
    return InboundMessage(kind=kind, **common)
