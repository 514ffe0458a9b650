"""Pictures made with Pillow for the storage and upload tests."""

from __future__ import annotations

import io
import os

from PIL import Image, PngImagePlugin

GPS_MAKER = "CanaryPhone"  # a string written into EXIF: must not survive the clean-up


def jpeg(
    width: int = 64,
    height: int = 48,
    *,
    orientation: int | None = 6,
    noise: bool = False,
    quality: int = 85,
    progressive: bool = False,
) -> bytes:
    """A JPEG with EXIF (GPS, maker, orientation) and a comment."""
    raw = os.urandom(width * height * 3) if noise else bytes([180, 40, 40]) * (width * height)
    img = Image.frombytes("RGB", (width, height), raw)
    exif = Image.Exif()
    exif[0x010F] = GPS_MAKER
    exif[0x8825] = {1: "N", 2: (23.0, 21.0, 1.5), 3: "E", 4: (116.0, 40.0, 2.5)}
    if orientation is not None:
        exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(
        out, "JPEG", exif=exif.tobytes(), comment=b"secret comment", quality=quality, progressive=progressive
    )
    return out.getvalue()


def png(width: int = 40, height: int = 30) -> bytes:
    """A PNG with a text chunk and EXIF."""
    img = Image.new("RGB", (width, height), (10, 120, 200))
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", GPS_MAKER)
    exif = Image.Exif()
    exif[0x010F] = GPS_MAKER
    out = io.BytesIO()
    img.save(out, "PNG", pnginfo=info, exif=exif.tobytes())
    return out.getvalue()


def jpeg_header_only(width: int, height: int) -> bytes:
    """A JPEG whose frame header claims ``width`` × ``height`` (an image bomb's header)."""
    small = jpeg(8, 8, orientation=None)
    i = small.index(b"\xff\xc0")
    return small[: i + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + small[i + 9 :]


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` × ``height`` (CRC fixed up)."""
    import struct
    import zlib

    small = bytearray(png(4, 4))
    ihdr = small[12:29]
    ihdr[4:12] = struct.pack(">II", width, height)
    small[12:29] = ihdr
    small[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(small)


def minimal_pdf(extra: bytes = b"") -> bytes:
    """A tiny valid-looking PDF (never parsed by the service)."""
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R " + extra + b">> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
