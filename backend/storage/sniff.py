"""What a file is, from its first bytes only (never its name or the Content-Type it came with)."""

from __future__ import annotations

from enum import StrEnum


class FileKind(StrEnum):
    """The file types we accept, and their content types."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    PDF = "application/pdf"


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SNIFF_BYTES = 8


def sniff(head: bytes) -> FileKind | None:
    """The kind of file starting with ``head`` (at least 8 bytes), or None when it is not accepted.

    JPEG ``FF D8 FF``, PNG ``89 50 4E 47 0D 0A 1A 0A``, PDF ``%PDF-`` at offset 0. Anything else
    (SVG, HTML, GIF, WebP, HEIC, ZIP, a PDF with a prefix) is refused.
    """
    if head[:3] == b"\xff\xd8\xff":
        return FileKind.JPEG
    if head[:8] == PNG_SIGNATURE:
        return FileKind.PNG
    if head[:5] == b"%PDF-":
        return FileKind.PDF
    return None
