"""Files on local disk, encrypted at rest (under ``var/files``, outside any web root).

Envelope encryption: every file has its own random 256-bit data key, stored in the file's header
wrapped by the FieldCipher keyring (``FieldCipher.encrypt`` with purpose ``storage.file:<key>``, so
the active key id is recorded and key rotation only rewrites headers). The body is a sequence of
AES-256-GCM segments of 64 KiB; each segment's nonce is a per-file prefix plus its index, and its
associated data binds the storage key and a "last segment" flag, so segments cannot be reordered,
swapped between files or cut off without the read failing. Memory use is one segment, whatever the
file size. A file becomes visible under its key only when committed (written to a temporary name,
fsynced, renamed).

Layout: ``CSF1`` ‖ u16 length ‖ wrapped data key ‖ 8-byte nonce prefix ‖ segments, each
``u32 length ‖ ciphertext+tag``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend.security.crypto import CryptoError, FieldCipher
from backend.storage.base import FileNotStored, StorageError, StoredFile

MAGIC = b"CSF1"
SEGMENT = 64 * 1024
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}/[A-Za-z0-9_-]{32}$")
_NAMESPACE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _purpose(key: str) -> str:
    return f"storage.file:{key}"


def _aad(key: str, final: bool) -> bytes:
    return key.encode() + (b"\x01" if final else b"\x00")


class LocalFileWriter:
    """A file being written: segments are encrypted as they fill."""

    def __init__(self, store: LocalFileStore, key: str) -> None:
        self.key = key
        self.size = 0
        self._path = store.path_of(key)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self._path.with_name(f".{self._path.name}.{secrets.token_hex(4)}.part")
        self._fh: BinaryIO | None = open(self._tmp, "xb")  # noqa: SIM115 (closed in commit/abort)
        dek = AESGCM.generate_key(bit_length=256)
        self._aes = AESGCM(dek)
        self._prefix = os.urandom(8)
        self._index = 0
        self._buffer = bytearray()
        self._sha = hashlib.sha256()
        wrapped = store.cipher.encrypt(base64.b64encode(dek).decode(), purpose=_purpose(key)).encode()
        self._fh.write(MAGIC + struct.pack(">H", len(wrapped)) + wrapped + self._prefix)
        self._done = False

    def __enter__(self) -> LocalFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()  # after commit: nothing to do

    def _segment(self, data: bytes, *, final: bool) -> None:
        assert self._fh is not None
        nonce = self._prefix + struct.pack(">I", self._index)
        ct = self._aes.encrypt(nonce, data, _aad(self.key, final))
        self._fh.write(struct.pack(">I", len(ct)) + ct)
        self._index += 1

    def write(self, chunk: bytes) -> None:
        """Append clear bytes."""
        if self._done:
            raise StorageError("file already committed or aborted")
        self.size += len(chunk)
        self._sha.update(chunk)
        self._buffer += chunk
        # Keep at least one byte back: the last segment is written (flagged final) by commit.
        while len(self._buffer) > SEGMENT:
            self._segment(bytes(self._buffer[:SEGMENT]), final=False)
            del self._buffer[:SEGMENT]

    def commit(self) -> StoredFile:
        """Write the last segment, flush to disk and make the file visible."""
        if self._done or self._fh is None:
            raise StorageError("file already committed or aborted")
        try:
            self._segment(bytes(self._buffer), final=True)
            self._buffer.clear()
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
            os.replace(self._tmp, self._path)
        except OSError as exc:
            self.abort()
            raise StorageError(f"could not store the file: {type(exc).__name__}") from None
        self._done = True
        return StoredFile(key=self.key, size=self.size, sha256=self._sha.hexdigest())

    def abort(self) -> None:
        """Drop the partial file."""
        if self._done:
            return
        self._done = True
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()


class LocalFileStore:
    """The default :class:`~backend.storage.base.FileStore`: encrypted files under ``root``."""

    def __init__(self, root: Path, cipher: FieldCipher) -> None:
        self.root = Path(root)
        self.cipher = cipher

    def path_of(self, key: str) -> Path:
        """Where a key's file lives (the key is checked: no path tricks)."""
        if not _KEY.match(key or ""):
            raise FileNotStored("malformed storage key")
        namespace, name = key.split("/")
        return self.root / namespace / name[:2] / name

    def writer(self, *, namespace: str) -> LocalFileWriter:
        """A writer for a new file with a fresh random key."""
        if not _NAMESPACE.match(namespace):
            raise ValueError(f"bad storage namespace {namespace!r}")
        key = f"{namespace}/{secrets.token_urlsafe(24)}"
        return LocalFileWriter(self, key)

    def exists(self, key: str) -> bool:
        """True when a committed file has this key."""
        try:
            return self.path_of(key).is_file()
        except FileNotStored:
            return False

    def delete(self, key: str) -> bool:
        """Remove a file; False when there was none."""
        try:
            self.path_of(key).unlink()
        except (FileNotFoundError, FileNotStored):
            return False
        return True

    def open(self, key: str) -> Iterator[bytes]:
        """The clear bytes, one segment at a time; StorageError as soon as anything does not verify."""
        try:
            fh = open(self.path_of(key), "rb")  # noqa: SIM115 (closed by the generator)
        except FileNotFoundError:
            raise FileNotStored("no file under this key") from None
        return self._read(fh, key)

    def _read(self, fh: BinaryIO, key: str) -> Iterator[bytes]:
        with fh:
            head = fh.read(6)
            if len(head) != 6 or head[:4] != MAGIC:
                raise StorageError("not a stored file")
            (wrapped_len,) = struct.unpack(">H", head[4:])
            wrapped = fh.read(wrapped_len)
            prefix = fh.read(8)
            try:
                dek = base64.b64decode(self.cipher.decrypt(wrapped.decode(), purpose=_purpose(key)))
            except (CryptoError, UnicodeDecodeError, ValueError):
                raise StorageError("file key does not decrypt") from None
            aes = AESGCM(dek)
            index = 0
            length = fh.read(4)
            while True:
                if len(length) != 4:
                    raise StorageError("file is truncated")
                (n,) = struct.unpack(">I", length)
                if n > SEGMENT + 16:
                    raise StorageError("file is corrupt")
                ct = fh.read(n)
                length = fh.read(4)
                final = not length
                nonce = prefix + struct.pack(">I", index)
                try:
                    data = aes.decrypt(nonce, ct, _aad(key, final))
                except InvalidTag:
                    raise StorageError("file failed authentication (tampered or truncated)") from None
                if data:
                    yield data
                if final:
                    return
                index += 1

    def read_all(self, key: str) -> bytes:
        """The whole clear file (small files and tests only)."""
        return b"".join(self.open(key))
