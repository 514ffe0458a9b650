"""File storage: an interface (:class:`FileStore`) and an encrypted local-disk implementation, with
content sniffing. See :mod:`backend.storage.base`.

A minimal version written for the W-16 media download (issue 12), with the same names as the fuller
one the mini-program work brings (streaming segments, metadata stripping), which replaces it."""

from backend.storage.base import FileNotStored, FileStore, FileWriter, StorageError, StoredFile
from backend.storage.local import LocalFileStore

__all__ = ["FileNotStored", "FileStore", "FileWriter", "LocalFileStore", "StorageError", "StoredFile"]
