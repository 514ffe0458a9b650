"""Safe XML parsing of WeChat pushes and their translation into :class:`InboundMessage`.

Any DOCTYPE/ENTITY is refused before parsing (xmltodict would refuse it too); a duplicated field, a
field we read given as nested elements, a root other than ``<xml>``, a missing ``MsgType`` or invalid
UTF-8 are one :class:`MalformedMessage`. Nested payloads (the subscribe-message events' ``<List>`` items,
``CopyrightCheckResult``, ``ChosenBeacon``...) are legitimate platform pushes: kept aside, and the
subscribe-message results read into :class:`~bot.contract.TemplateEvent` records.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from bot.contract import InboundMessage, TemplateEvent

CHANNEL = "official_account"
_FORBIDDEN = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
# The top-level fields read as values: never nested.
_VALUES = frozenset({
    "ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "MsgID", "Event", "EventKey", "Content",
    "Recognition", "MediaId", "PicUrl", "Location_X", "Location_Y", "Label", "Latitude", "Longitude",
    "Title", "Status", "Encrypt",
})
_KINDS = {"text", "voice", "image", "location", "link", "video", "shortvideo", "file", "event"}
# Subscribe-message events: the element holding their ``<List>`` (one per template).
_TEMPLATE_LISTS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}


class MalformedMessage(Exception):
    """The XML cannot be used; ``reason`` is a short code for logs (never the body)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed push: its plain top-level fields, and its nested elements by name (in order)."""

    fields: dict[str, str]
    nested: dict[str, list[ElementTree.Element]]


def parse_document(body: bytes) -> Document:
    """The ``<xml>`` element's children; refuses DTDs, bad UTF-8 and duplicated or nested value fields.

    The C ElementTree parser (expat, which refuses entity bombs since 2.4.1, checked at start-up)
    after a refusal of any DOCTYPE/ENTITY declaration, so no entity is ever defined or expanded.
    It is parsed from the decoded text: an ``encoding`` in the XML declaration cannot override UTF-8.
    A name may repeat only when every copy is nested (a list of structures, never two values).
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
    fields: dict[str, str] = {}
    nested: dict[str, list[ElementTree.Element]] = {}
    for child in root:
        name = child.tag
        if name in fields:
            raise MalformedMessage("duplicate_field")
        if len(child):
            if name in _VALUES:
                raise MalformedMessage("nested_value_field")
            nested.setdefault(name, []).append(child)
            continue
        if name in nested:
            raise MalformedMessage("duplicate_field")
        fields[name] = (child.text or "").strip()
    return Document(fields, nested)


def parse_xml(body: bytes) -> dict[str, str]:
    """The plain top-level fields of :func:`parse_document` (the envelope, a passive reply)."""
    return parse_document(body).fields


def _leaf(element: ElementTree.Element, name: str) -> str:
    child = element.find(name)
    return (child.text or "").strip() if child is not None and not len(child) else ""


def _int(raw: str) -> int | None:
    try:
        return int(raw)
    except ValueError:
        return None


def _template_events(event: str | None,
                     nested: Mapping[str, list[ElementTree.Element]]) -> tuple[TemplateEvent, ...]:
    """The ``<List>`` items of a subscribe-message event (one or many; inside the event's element, or at
    the top level as some relays send them)."""
    holder = _TEMPLATE_LISTS.get(event or "")
    if holder is None:
        return ()
    items = [item for element in nested.get(holder, ()) for item in element.iterfind("List")]
    items += nested.get("List", [])
    return tuple(
        TemplateEvent(template_id=_leaf(item, "TemplateId"),
                      status=_leaf(item, "SubscribeStatusString") or _leaf(item, "ErrorStatus"),
                      msg_id=_leaf(item, "MsgID"), error_code=_int(_leaf(item, "ErrorCode")))
        for item in items)


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


def to_inbound(fields: Mapping[str, str],
               nested: Mapping[str, list[ElementTree.Element]] | None = None) -> InboundMessage:
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
        if event in _TEMPLATE_LISTS:
            return InboundMessage(kind=kind, event=event, templates=_template_events(event, nested or {}),
                                  **common)
        return InboundMessage(kind=kind, event=event, event_key=key, **common)
    return InboundMessage(kind=kind, **common)
