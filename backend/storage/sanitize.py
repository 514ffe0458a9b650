"""Streaming checks and clean-up of uploaded files, chunk by chunk (catalogue M-05, M-07, M-08).

Nothing here decodes pixels or parses a PDF's object graph, so a hostile file costs what reading it
costs. A :class:`Sanitizer` is fed the upload's chunks and returns the bytes to store:

* **JPEG**: walks the marker segments. EXIF (GPS, camera, time), XMP, IPTC/Photoshop, MPF extra
  pictures, comments and unknown APPn segments are dropped; JFIF, the ICC colour profile and the
  Adobe colour-transform segment are kept, the EXIF orientation is re-emitted alone (so a photo
  taken upright stays upright); everything after the end-of-image marker (an appended ZIP or HTML:
  a polyglot) is dropped. The frame header gives the size: above :data:`MAX_PIXELS` the file is
  refused as an image bomb before anything is stored. The entropy-coded data is copied as it is
  (lossless: no re-encoding of medical documents).
* **PNG**: walks the chunks and checks each CRC; keeps the image and colour chunks
  (:data:`PNG_KEEP`), drops text, EXIF, time and unknown chunks; stops at ``IEND``; the ``IHDR``
  size is checked against :data:`MAX_PIXELS`.
* **PDF**: kept byte for byte, but refused when a name in it asks for JavaScript, an embedded file,
  a launch action or encryption (a plain byte scan that decodes ``#xx`` escapes in names; never a
  parse). A full parse, if ever needed, belongs in a sandboxed worker (M-08).
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import ClassVar

from backend.storage.sniff import PNG_SIGNATURE, FileKind

MAX_PIXELS = 40_000_000  # project choice (M-07): Pillow warns at 89 MP; phone cameras make ≤ 50 MP
PNG_KEEP = frozenset(
    {
        b"IHDR",
        b"PLTE",
        b"IDAT",
        b"IEND",
        b"tRNS",
        b"gAMA",
        b"cHRM",
        b"sRGB",
        b"iCCP",
        b"sBIT",
        b"pHYs",
        b"bKGD",
    }
)
PDF_FORBIDDEN = {
    b"JavaScript": "pdf_javascript",
    b"JS": "pdf_javascript",
    b"EmbeddedFile": "pdf_embedded_file",
    b"EmbeddedFiles": "pdf_embedded_file",
    b"Launch": "pdf_launch",
    b"RichMedia": "pdf_javascript",
    b"XFA": "pdf_javascript",
    b"Encrypt": "pdf_encrypted",
}


class FileRejected(Exception):
    """The file is refused; ``code`` says why (for the API's error)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class Sanitizer:
    """Feed chunks, get the bytes to store; :meth:`close` checks the file ended properly."""

    kind: ClassVar[FileKind]
    pixels: int | None = None

    def feed(self, chunk: bytes) -> bytes:
        raise NotImplementedError

    def close(self) -> bytes:
        raise NotImplementedError


def _check_pixels(width: int, height: int) -> int:
    if width <= 0 or height <= 0:
        raise FileRejected("image_corrupt", "zero size")
    if width * height > MAX_PIXELS:
        raise FileRejected("image_too_large", f"{width}x{height}")
    return width * height


# --------------------------------------------------------------------------------------------- JPEG
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_SCAN_END = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")  # FF + a marker that ends entropy-coded data


def _orientation(exif: bytes) -> int | None:
    """The EXIF orientation tag (1–8) of an APP1 payload, or None."""
    if not exif.startswith(b"Exif\x00\x00") or len(exif) < 14:
        return None
    tiff = exif[6:]
    order = tiff[:2]
    if order not in (b"II", b"MM"):
        return None
    end = "<" if order == b"II" else ">"
    try:
        (ifd,) = struct.unpack(end + "I", tiff[4:8])
        (count,) = struct.unpack(end + "H", tiff[ifd : ifd + 2])
        for i in range(min(count, 256)):
            entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
            tag, typ, _n = struct.unpack(end + "HHI", entry[:8])
            if tag == 0x0112 and typ == 3:
                (value,) = struct.unpack(end + "H", entry[8:10])
                return value if 1 <= value <= 8 else None
    except struct.error:
        return None
    return None


def _exif_with_orientation(value: int) -> bytes:
    """A minimal APP1 segment carrying only the orientation tag."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, value, 0) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


class JpegSanitizer(Sanitizer):
    """See the module docstring."""

    kind = FileKind.JPEG

    def __init__(self) -> None:
        self._buf = bytearray()
        self._state = "soi"  # soi → marker ⇄ scan → done
        self._seen_frame = False
        self._orientation_done = False

    def _keep(self, marker: int, payload: bytes) -> bytes:
        segment = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
        if marker in _SOF:
            if len(payload) < 6:
                raise FileRejected("image_corrupt", "short frame header")
            height, width = struct.unpack(">HH", payload[1:5])
            self.pixels = _check_pixels(width, height)
            self._seen_frame = True
            return segment
        if marker == 0xE1:  # EXIF / XMP: only the orientation survives, once
            value = _orientation(payload)
            if value is not None and value != 1 and not self._orientation_done:
                self._orientation_done = True
                return _exif_with_orientation(value)
            return b""
        if marker == 0xE0:
            return segment if payload.startswith(b"JFIF\x00") else b""
        if marker == 0xE2:
            return segment if payload.startswith(b"ICC_PROFILE\x00") else b""
        if marker == 0xEE:
            return segment if payload.startswith(b"Adobe") else b""
        if 0xE3 <= marker <= 0xEF or marker == 0xFE:  # other APPn, comments
            return b""
        return segment

    def feed(self, chunk: bytes) -> bytes:
        if self._state == "done":
            return b""
        self._buf += chunk
        out = bytearray()
        buf = self._buf
        pos = 0
        while True:
            if self._state == "soi":
                if len(buf) < 2:
                    break
                if buf[:2] != b"\xff\xd8":
                    raise FileRejected("not_jpeg")
                out += b"\xff\xd8"
                pos = 2
                self._state = "marker"
            elif self._state == "marker":
                while pos < len(buf) - 1 and buf[pos] == 0xFF and buf[pos + 1] == 0xFF:
                    pos += 1  # fill bytes
                if len(buf) - pos < 2:
                    break
                if buf[pos] != 0xFF:
                    raise FileRejected("image_corrupt", "marker expected")
                marker = buf[pos + 1]
                if marker == 0xD9:
                    if not self._seen_frame:
                        raise FileRejected("image_corrupt", "no frame")
                    out += b"\xff\xd9"
                    self._state = "done"
                    pos = len(buf)  # anything after the end of the image is dropped
                    break
                if marker in _STANDALONE:
                    out += buf[pos : pos + 2]
                    pos += 2
                    continue
                if marker in (0x00, 0xD8):
                    raise FileRejected("image_corrupt", "unexpected marker")
                if len(buf) - pos < 4:
                    break
                (length,) = struct.unpack(">H", buf[pos + 2 : pos + 4])
                if length < 2:
                    raise FileRejected("image_corrupt", "bad segment length")
                if len(buf) - pos < 2 + length:
                    break
                payload = bytes(buf[pos + 4 : pos + 2 + length])
                pos += 2 + length
                if marker == 0xDA:
                    if not self._seen_frame:
                        raise FileRejected("image_corrupt", "scan before frame")
                    out += b"\xff\xda" + struct.pack(">H", length) + payload
                    self._state = "scan"
                else:
                    out += self._keep(marker, payload)
            else:  # scan: copy entropy-coded data up to the next real marker
                found = _SCAN_END.search(buf, pos)
                if found is None:
                    # Keep a trailing FF back: the next chunk tells whether it starts a marker.
                    end = len(buf) - 1 if buf and buf[-1] == 0xFF else len(buf)
                    out += buf[pos:end]
                    pos = end
                    break
                out += buf[pos : found.start()]
                pos = found.start()
                self._state = "marker"
        del buf[:pos]
        return bytes(out)

    def close(self) -> bytes:
        if self._state != "done":
            raise FileRejected("image_corrupt", "the picture is cut off")
        return b""


# ---------------------------------------------------------------------------------------------- PNG
class PngSanitizer(Sanitizer):
    """See the module docstring."""

    kind = FileKind.PNG

    def __init__(self) -> None:
        self._buf = bytearray()
        self._state = "signature"  # signature → header ⇄ data → done
        self._remaining = 0
        self._keep_chunk = False
        self._crc = 0
        self._type = b""
        self._chunks = 0

    def feed(self, chunk: bytes) -> bytes:
        if self._state == "done":
            return b""
        self._buf += chunk
        buf = self._buf
        out = bytearray()
        pos = 0
        while True:
            if self._state == "signature":
                if len(buf) < 8:
                    break
                if bytes(buf[:8]) != PNG_SIGNATURE:
                    raise FileRejected("not_png")
                out += PNG_SIGNATURE
                pos = 8
                self._state = "header"
            elif self._state == "header":
                first = self._chunks == 0
                if len(buf) - pos < (8 + 13 if first else 8):
                    break
                length, ctype = struct.unpack(">I4s", buf[pos : pos + 8])
                if length > 0x7FFFFFFF or not ctype.isalpha():
                    raise FileRejected("image_corrupt", "bad chunk")
                if first:
                    if ctype != b"IHDR" or length != 13:
                        raise FileRejected("image_corrupt", "IHDR first")
                    width, height = struct.unpack(">II", buf[pos + 8 : pos + 16])
                    self.pixels = _check_pixels(width, height)
                self._chunks += 1
                self._type = ctype
                self._keep_chunk = ctype in PNG_KEEP
                self._crc = zlib.crc32(ctype)
                self._remaining = length
                if self._keep_chunk:
                    out += buf[pos : pos + 8]
                pos += 8
                self._state = "data"
            elif self._state == "data":
                take = min(self._remaining, len(buf) - pos)
                if take:
                    piece = buf[pos : pos + take]
                    self._crc = zlib.crc32(piece, self._crc)
                    if self._keep_chunk:
                        out += piece
                    pos += take
                    self._remaining -= take
                if self._remaining:
                    break
                if len(buf) - pos < 4:
                    break
                (crc,) = struct.unpack(">I", buf[pos : pos + 4])
                if crc != self._crc:
                    raise FileRejected("image_corrupt", "chunk checksum")
                if self._keep_chunk:
                    out += buf[pos : pos + 4]
                pos += 4
                if self._type == b"IEND":
                    self._state = "done"
                    pos = len(buf)
                    break
                self._state = "header"
        del buf[:pos]
        return bytes(out)

    def close(self) -> bytes:
        if self._state != "done":
            raise FileRejected("image_corrupt", "the picture is cut off")
        return b""


# ---------------------------------------------------------------------------------------------- PDF
_NAME = re.compile(rb"/((?:[A-Za-z0-9]|#[0-9A-Fa-f]{2})+)")
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_TAIL = 160  # a PDF name is at most 127 bytes: a name cut by a chunk boundary is seen whole next time


class PdfSanitizer(Sanitizer):
    """See the module docstring."""

    kind = FileKind.PDF

    def __init__(self) -> None:
        self._tail = b""
        self._started = False

    def _scan(self, data: bytes) -> None:
        for m in _NAME.finditer(data):
            name = _HEX.sub(lambda h: bytes([int(h.group(1), 16)]), m.group(1))
            code = PDF_FORBIDDEN.get(name)
            if code is not None:
                raise FileRejected(code)

    def feed(self, chunk: bytes) -> bytes:
        if not self._started:
            head = self._tail + chunk
            if len(head) < 5:
                self._tail = head
                return b""
            if not head.startswith(b"%PDF-"):
                raise FileRejected("not_pdf")
            self._started = True
            self._tail, chunk = b"", head
        # Scan the overlap with the previous chunk too; a name wholly inside the tail is seen twice
        # (harmless: the check has no state).
        self._scan(self._tail + chunk)
        self._tail = (self._tail + chunk)[-_TAIL:]
        return chunk

    def close(self) -> bytes:
        if b"%%EOF" not in self._tail:
            raise FileRejected("pdf_corrupt", "no end marker")
        return b""


def sanitizer_for(kind: FileKind) -> Sanitizer:
    """A fresh sanitizer for one file of ``kind``."""
    return {FileKind.JPEG: JpegSanitizer, FileKind.PNG: PngSanitizer, FileKind.PDF: PdfSanitizer}[kind]()
