"""Voice messages, stored as they came (no transcoding): what a voice file is, from its first bytes.

WeChat's voice messages are AMR (``#!AMR\\n``; wide-band ``#!AMR-WB\\n``) or, for high-quality voice,
Speex in an Ogg container (``OggS`` with a ``Speex   `` header packet). Nothing else is taken as a voice.
"""

from __future__ import annotations

from enum import StrEnum

from backend.storage.base import FileStore, StoredFile

VOICE_SNIFF_BYTES = 64


class VoiceKind(StrEnum):
    """The voice formats we keep, and their content types."""

    AMR = "audio/amr"
    AMR_WB = "audio/amr-wb"
    SPEEX = "audio/ogg"  # Speex in Ogg


def sniff_voice(head: bytes) -> VoiceKind | None:
    """The voice format starting with ``head``, or None when it is not one we keep."""
    if head.startswith(b"#!AMR\n"):
        return VoiceKind.AMR
    if head.startswith(b"#!AMR-WB\n"):
        return VoiceKind.AMR_WB
    if head.startswith(b"OggS") and b"Speex   " in head[:VOICE_SNIFF_BYTES]:
        return VoiceKind.SPEEX
    return None


def store_voice(store: FileStore, data: bytes, *, namespace: str) -> tuple[StoredFile, VoiceKind] | None:
    """Store a voice file as it is (encrypted by the store); None when ``data`` is not a voice."""
    kind = sniff_voice(data[:VOICE_SNIFF_BYTES])
    if kind is None or len(data) <= len(b"#!AMR\n"):
        return None
    writer = store.writer(namespace=namespace)
    try:
        writer.write(data)
        return writer.commit(), kind
    except BaseException:
        writer.abort()
        raise
