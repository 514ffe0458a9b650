"""The file storage interface: write a file as a stream, read it back as a stream, delete it.

Keys are random (never derived from a file name or a customer's data) and say nothing about the
content. Bytes are encrypted at rest by the implementation. A writer is fed chunk by chunk, so a
large file is never held whole in memory; nothing is visible under its key until :meth:`commit`.

An S3-compatible store would implement the same protocol: ``writer`` maps to a multipart upload
(``commit`` = CompleteMultipartUpload, ``abort`` = AbortMultipartUpload), ``open`` to a ranged GET
and ``delete`` to DeleteObject, with the same envelope encryption done here before upload.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


class StorageError(Exception):
    """The store failed (disk full, corrupt or tampered file)."""


class FileNotStored(StorageError):
    """No file under this key."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A committed file: its key, clear size in bytes and the SHA-256 of the clear bytes."""

    key: str
    size: int
    sha256: str


class FileWriter(Protocol):
    """One file being written."""

    key: str
    size: int

    def write(self, chunk: bytes) -> None:
        """Append clear bytes (encrypted before they reach the disk)."""

    def commit(self) -> StoredFile:
        """Finish the file and make it readable under :attr:`key`."""

    def abort(self) -> None:
        """Forget everything written (safe to call twice, or after commit: then it does nothing)."""


class FileStore(Protocol):
    """Where files live (local disk by default)."""

    def writer(self, *, namespace: str) -> FileWriter:
        """A writer for a new file with a fresh random key (``namespace`` groups files, e.g. ``claims``)."""

    def open(self, key: str) -> Iterator[bytes]:
        """The clear bytes of a file, chunk by chunk (FileNotStored, StorageError when tampered)."""

    def delete(self, key: str) -> bool:
        """Remove a file; False when there was none."""

    def exists(self, key: str) -> bool:
        """True when a committed file has this key."""
