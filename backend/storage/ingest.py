"""Taking in one file: sniff its type from its first bytes, refuse what is not accepted, store it
encrypted, with a size cap.

    ingest = Ingest(store, namespace="claims", max_bytes=10 << 20)
    for chunk in chunks: ingest.feed(chunk)      # FileRejected / FileTooLarge as soon as known
    stored, kind = ingest.finish()               # or ingest.abort() on any error
"""

from __future__ import annotations

from backend.storage.base import FileStore, FileWriter, StoredFile
from backend.storage.sniff import SNIFF_BYTES, FileKind, sniff


class FileRejected(Exception):
    """Not a file we accept (``reason``: unsupported_type, empty)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FileTooLarge(Exception):
    """The file is over the cap."""


class Ingest:
    """One file being taken in (see the module docstring)."""

    def __init__(self, store: FileStore, *, namespace: str, max_bytes: int) -> None:
        self.store = store
        self.namespace = namespace
        self.max_bytes = max_bytes
        self.received = 0
        self.kind: FileKind | None = None
        self._head = b""
        self._writer: FileWriter | None = None

    def feed(self, chunk: bytes) -> None:
        """The next bytes of the file."""
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise FileTooLarge
        if self._writer is None:
            self._head += chunk
            if len(self._head) < SNIFF_BYTES:
                return
            chunk, self._head = self._head, b""
            self.kind = sniff(chunk)
            if self.kind is None:
                raise FileRejected("unsupported_type")
            self._writer = self.store.writer(namespace=self.namespace)
        self._writer.write(chunk)

    def finish(self) -> tuple[StoredFile, FileKind]:
        """Commit the file."""
        if self._writer is None or self.kind is None:
            raise FileRejected("empty" if not self._head else "unsupported_type")
        return self._writer.commit(), self.kind

    def abort(self) -> None:
        """Drop whatever was written."""
        if self._writer is not None:
            self._writer.abort()
