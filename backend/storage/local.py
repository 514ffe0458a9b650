"""Files on the local disk, outside any web root, each encrypted as a whole (AES-256-GCM through the
field cipher, bound to its key) and written atomically (a temporary file renamed into place)."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag

from backend.security.crypto import FieldCipher
from backend.storage.base import FileNotStored, StorageError, StoredFile

CHUNK = 64 * 1024


def _purpose(key: str) -> bytes:
    return f"files:{key}".encode()


def seal(cipher: FieldCipher, clear: bytes, key: str) -> bytes:
    """``kid`` ``\n`` nonce ‖ AES-256-GCM(clear), bound to the file's key (copied elsewhere, it fails)."""
    nonce = os.urandom(12)
    return cipher.active_key_id.encode() + b"\n" + nonce + cipher.keys[cipher.active_key_id].encrypt(
        nonce, clear, _purpose(key))


def unseal(cipher: FieldCipher, sealed: bytes, key: str) -> bytes:
    kid, sep, rest = sealed.partition(b"\n")
    aes = cipher.keys.get(kid.decode(errors="replace"))
    if not sep or aes is None or len(rest) < 28:
        raise StorageError("file corrupt, or encrypted with an unknown key")
    try:
        return aes.decrypt(rest[:12], rest[12:], _purpose(key))
    except InvalidTag:
        raise StorageError("file corrupt or tampered") from None


class LocalFileWriter:
    """A file kept in memory until committed (media files are a few MB at most)."""

    def __init__(self, store: LocalFileStore, key: str) -> None:
        self.store, self.key, self.size = store, key, 0
        self._parts: list[bytes] = []
        self._done = False

    def write(self, chunk: bytes) -> None:
        self._parts.append(chunk)
        self.size += len(chunk)

    def commit(self) -> StoredFile:
        clear = b"".join(self._parts)
        sealed = seal(self.store.cipher, clear, self.key)
        path = self.store.path_of(self.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_bytes(sealed)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except OSError as exc:
            raise StorageError(f"cannot write file: {type(exc).__name__}") from None
        self._done, self._parts = True, []
        return StoredFile(key=self.key, size=len(clear), sha256=hashlib.sha256(clear).hexdigest())

    def abort(self) -> None:
        self._parts = []


class LocalFileStore:
    """Encrypted files under ``root`` (``var/files`` by default)."""

    def __init__(self, root: Path, cipher: FieldCipher) -> None:
        self.root = root
        self.cipher = cipher

    def path_of(self, key: str) -> Path:
        namespace, _, name = key.partition("/")
        if not namespace.isalnum() or not name.isalnum():
            raise FileNotStored("invalid key")
        return self.root / namespace / name[:2] / name

    def writer(self, *, namespace: str) -> LocalFileWriter:
        return LocalFileWriter(self, f"{namespace}/{secrets.token_hex(16)}")

    def exists(self, key: str) -> bool:
        try:
            return self.path_of(key).is_file()
        except FileNotStored:
            return False

    def delete(self, key: str) -> bool:
        try:
            self.path_of(key).unlink()
        except (FileNotFoundError, FileNotStored):
            return False
        return True

    def open(self, key: str) -> Iterator[bytes]:
        clear = self.read_all(key)
        for i in range(0, len(clear), CHUNK):
            yield clear[i:i + CHUNK]

    def read_all(self, key: str) -> bytes:
        try:
            sealed = self.path_of(key).read_bytes()
        except FileNotFoundError:
            raise FileNotStored(key) from None
        return unseal(self.cipher, sealed, key)
