"""The fake WeChat's temporary media upload (``cgi-bin/media/upload``), as WeChat documents it.

``POST media/upload?access_token=…&type=image`` with a multipart body whose file field is ``media``
answers ``{"type": "image", "media_id": …, "created_at": …}``; a file that is not an image by its
first bytes (JPEG, PNG, GIF, BMP) is ``40005 invalid file type``; over 10 MB (image) is ``40009``;
no ``media`` part is ``41005 media data missing``; a type other than image/voice/video/thumb is
``40004 invalid media type``.
"""

from __future__ import annotations

import email.parser
import email.policy
import secrets
import time
from typing import Any

IMAGE_MAX = 10 * 1024 * 1024
MEDIA_TYPES = ("image", "voice", "video", "thumb")


def is_image(data: bytes) -> bool:
    """An image WeChat accepts for type=image, by its first bytes."""
    return (data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n"
            or data[:6] in (b"GIF87a", b"GIF89a") or data[:2] == b"BM")


def media_part(raw: bytes, content_type: str) -> bytes | None:
    """The bytes of the ``media`` part of a multipart/form-data body, or None."""
    if not content_type.startswith("multipart/form-data"):
        return None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "media":
            payload = part.get_payload(decode=True)
            return bytes(payload) if payload is not None else b""
    return None


def upload(media: dict[str, bytes], uploads: list[dict[str, Any]], query: dict[str, str], raw: bytes,
           content_type: str) -> dict[str, Any]:
    """Handle one upload: store the bytes under a new media id (``media``), record it (``uploads``),
    and return WeChat's answer."""
    kind = query.get("type", "")
    if kind not in MEDIA_TYPES:
        return {"errcode": 40004, "errmsg": "invalid media type"}
    data = media_part(raw, content_type)
    if data is None:
        return {"errcode": 41005, "errmsg": "media data missing"}
    if kind == "image" and not is_image(data):
        return {"errcode": 40005, "errmsg": "invalid file type"}
    if kind == "image" and len(data) > IMAGE_MAX:
        return {"errcode": 40009, "errmsg": "invalid image size"}
    media_id = "MEDIA_" + secrets.token_urlsafe(24)
    created = int(time.time())
    media[media_id] = data
    uploads.append({"type": kind, "media_id": media_id, "bytes": data, "created_at": created})
    return {"type": kind, "media_id": media_id, "created_at": created}
