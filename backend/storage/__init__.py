"""File storage: an interface (:class:`FileStore`), an encrypted local-disk implementation, content
sniffing and image metadata stripping. See :mod:`backend.storage.base`."""

from backend.storage.base import FileNotStored, FileStore, FileWriter, StorageError, StoredFile
from backend.storage.local import LocalFileStore

__all__ = ["FileNotStored", "FileStore", "FileWriter", "LocalFileStore", "StorageError", "StoredFile"]
