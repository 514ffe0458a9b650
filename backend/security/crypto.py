"""Field encryption (AES-256-GCM with a key id, so keys rotate) and HMAC blind indexes.

A ciphertext is stored as text: ``v1.<key id>.<base64(nonce ‖ ciphertext ‖ tag)>``. The associated
data binds it to its purpose (for example ``"roster.id_number"``), so a value copied into another
column does not decrypt. Blind indexes let us look a value up by equality without decrypting the table.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"


class CryptoError(Exception):
    """A value could not be decrypted (unknown key id, tampered or corrupt ciphertext)."""


@dataclass(frozen=True, slots=True)
class FieldCipher:
    """Encrypts and decrypts single field values; the active key encrypts, any known key decrypts."""

    keys: dict[str, AESGCM]
    active_key_id: str
    index_key: bytes

    @classmethod
    def from_config(cls, *, keys_json: str, active_key_id: str, blind_index_key: str) -> FieldCipher:
        """Build from the settings' JSON keyring ``{key_id: base64 key}``."""
        try:
            raw = json.loads(keys_json)
        except json.JSONDecodeError as exc:
            raise CryptoError("加密密钥配置不是合法的 JSON") from exc
        keys: dict[str, AESGCM] = {}
        for kid, b64 in raw.items():
            if "." in kid:
                raise CryptoError(f"key id {kid!r} must not contain '.'")
            try:
                key = base64.b64decode(b64, validate=True)
            except binascii.Error as exc:
                raise CryptoError(f"key {kid!r} is not base64") from exc
            if len(key) != 32:
                raise CryptoError(f"key {kid!r} must be 32 bytes (AES-256)")
            keys[kid] = AESGCM(key)
        if active_key_id not in keys:
            raise CryptoError(f"active key id {active_key_id!r} is not in the keyring")
        if len(blind_index_key) < 16:
            raise CryptoError("blind index key is too short")
        return cls(keys=keys, active_key_id=active_key_id, index_key=blind_index_key.encode())

    def encrypt(self, plaintext: str, *, purpose: str) -> str:
        """Encrypt ``plaintext`` for ``purpose`` (the associated data) with the active key."""
        nonce = os.urandom(12)
        ct = self.keys[self.active_key_id].encrypt(nonce, plaintext.encode(), purpose.encode())
        return f"{_VERSION}.{self.active_key_id}.{base64.b64encode(nonce + ct).decode()}"

    def decrypt(self, token: str, *, purpose: str) -> str:
        """Decrypt a value made by :meth:`encrypt` with the same ``purpose``."""
        try:
            version, kid, b64 = token.split(".", 2)
            blob = base64.b64decode(b64, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise CryptoError("malformed ciphertext") from exc
        if version != _VERSION or kid not in self.keys or len(blob) < 12 + 16:
            raise CryptoError("unknown ciphertext version or key id")
        try:
            return self.keys[kid].decrypt(blob[:12], blob[12:], purpose.encode()).decode()
        except InvalidTag as exc:
            raise CryptoError("ciphertext failed authentication") from exc

    def needs_rotation(self, token: str) -> bool:
        """True when ``token`` was made with a key other than the active one."""
        return token.split(".", 2)[1:2] != [self.active_key_id]

    def blind_index(self, value: str, *, purpose: str) -> str:
        """A keyed HMAC-SHA256 of ``value`` (hex, 64 chars) for equality lookups."""
        return hmac.digest(self.index_key, purpose.encode() + b"\x00" + value.encode(), "sha256").hex()

    def indexer(self, purpose: str) -> Callable[[str], str]:
        """``blind_index`` bound to one purpose, for bulk work (the prefix is encoded once)."""
        key, prefix = self.index_key, purpose.encode() + b"\x00"

        def index(value: str) -> str:
            return hmac.digest(key, prefix + value.encode(), "sha256").hex()

        return index
