"""Taking in one uploaded file as a stream: sniff → clean → encrypt → store, with a size cap.

    ingest = Ingest(store, namespace="claims", max_bytes=10 << 20)
    for chunk in chunks: ingest.feed(chunk)      # FileRejected / FileTooLarge as soon as known
    stored, kind = ingest.finish()               # or ingest.abort() on any error

Memory stays at one storage segment plus one chunk, whatever the file's size.
"""

from __future__ import annotations

from backend.storage.base import FileStore, FileWriter, StoredFile
from backend.storage.sanitize import FileRejected, Sanitizer, sanitizer_for
from backend.storage.sniff import SNIFF_BYTES, FileKind, sniff


class FileTooLarge(Exception):
    """The file is over the cap (M-06)."""


class Ingest:
    """One file being taken in (see the module docstring)."""

    def __init__(self, store: FileStore, *, namespace: str, max_bytes: int) -> None:
        self.store = store
        self.namespace = namespace
        self.max_bytes = max_bytes
        self.received = 0
        self.kind: FileKind | None = None
        self._head = b""
        self._sanitizer: Sanitizer | None = None
        self._writer: FileWriter | None = None

    def _start(self, head: bytes) -> None:
        kind = sniff(head)
        if kind is None:
            raise FileRejected("unsupported_type")
        self.kind = kind
        self._sanitizer = sanitizer_for(kind)
        self._writer = self.store.writer(namespace=self.namespace)

    def feed(self, chunk: bytes) -> None:
        """The next bytes of the upload."""
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise FileTooLarge
        if self._sanitizer is None:
            self._head += chunk
            if len(self._head) < SNIFF_BYTES:
                return
            chunk, self._head = self._head, b""
            self._start(chunk)
        assert self._sanitizer is not None and self._writer is not None
        out = self._sanitizer.feed(chunk)
        if out:
            self._writer.write(out)

    def finish(self) -> tuple[StoredFile, FileKind]:
        """Check the file ended properly and commit it."""
        if self._sanitizer is None:
            raise FileRejected("empty" if not self._head else "unsupported_type")
        assert self._writer is not None and self.kind is not None
        tail = self._sanitizer.close()
        if tail:
            self._writer.write(tail)
        return self._writer.commit(), self.kind

    def abort(self) -> None:
        """Drop whatever was written."""
        if self._writer is not None:
            self._writer.abort()
