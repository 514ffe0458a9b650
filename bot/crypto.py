"""WeChat message signatures and AES (safe mode) encryption, strict and in constant time.

wechatpy's ``WeChatCrypto`` compares signatures with ``!=``, has no timestamp window, does not check
the padding byte and raises a zoo of exception types. Here the AES block cipher is wechatpy's, the
framing is checked strictly, and every failure is one :class:`CryptoError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass

from wechatpy.crypto.cryptography import WeChatCipher

BLOCK = 32  # WeChat's PKCS#7 block size


class CryptoError(Exception):
    """The request cannot be authenticated or decrypted; ``reason`` is a short code for logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sha1_signature(*parts: str) -> str:
    """sha1 of the sorted, concatenated parts (WeChat's signature)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324


def signature_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison of two hex signatures."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("ascii", "replace"))


def _key_bytes(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise ValueError("EncodingAESKey must be 43 characters")
    key = base64.b64decode(encoding_aes_key + "=", validate=True)
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


@dataclass(frozen=True)
class AesKey:
    """One EncodingAESKey, decoded, with its cipher."""

    key: bytes
    cipher: WeChatCipher

    @classmethod
    def from_encoding_key(cls, encoding_aes_key: str) -> AesKey:
        """Decode a 43-character EncodingAESKey."""
        key = _key_bytes(encoding_aes_key)
        return cls(key=key, cipher=WeChatCipher(key))


class MessageCrypto:
    """Signs, encrypts and decrypts for one official account; accepts a previous key (rotation)."""

    def __init__(self, *, token: str, app_id: str, encoding_aes_key: str = "",
                 previous_encoding_aes_key: str = "") -> None:
        self.token = token
        self.app_id = app_id
        self._app_id_bytes = app_id.encode("utf-8")
        self.keys: list[AesKey] = [
            AesKey.from_encoding_key(k) for k in (encoding_aes_key, previous_encoding_aes_key) if k
        ]

    # -- signatures ---------------------------------------------------------------------------
    def check_plain_signature(self, *, signature: str | None, timestamp: str, nonce: str) -> None:
        """URL check and plaintext mode: sha1(token, timestamp, nonce) (does not cover the body)."""
        if not signature_ok(sha1_signature(self.token, timestamp, nonce), signature):
            raise CryptoError("bad_signature")

    def check_msg_signature(self, *, msg_signature: str | None, timestamp: str, nonce: str,
                            encrypt: str) -> None:
        """Safe mode: sha1(token, timestamp, nonce, Encrypt), checked before any decryption."""
        if not signature_ok(sha1_signature(self.token, timestamp, nonce, encrypt), msg_signature):
            raise CryptoError("bad_msg_signature")

    # -- AES --------------------------------------------------------------------------------------
    def decrypt(self, encrypt: str) -> tuple[bytes, int]:
        """The inner XML bytes and the index of the key that decrypted them (0 current, 1 previous)."""
        if not self.keys:
            raise CryptoError("no_aes_key")
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("bad_base64") from None
        if not raw or len(raw) % 16 or len(raw) < BLOCK:
            raise CryptoError("bad_length")
        last = "bad_padding"
        for index, key in enumerate(self.keys):
            try:
                return self._unframe(key.cipher.decrypt(raw)), index
            except CryptoError as exc:
                last = exc.reason
        raise CryptoError(last)

    def _unframe(self, plain: bytes) -> bytes:
        pad = plain[-1]
        if pad < 1 or pad > BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad_padding")
        body = plain[16:-pad]
        if len(body) < 4:
            raise CryptoError("bad_frame")
        (length,) = struct.unpack(">I", body[:4])
        if length > len(body) - 4:
            raise CryptoError("bad_frame")
        msg = body[4:4 + length]
        if not hmac.compare_digest(body[4 + length:], self._app_id_bytes):
            raise CryptoError("wrong_app_id")
        return msg

    def encrypt(self, msg: str | bytes, *, random16: bytes | None = None, key_index: int = 0) -> str:
        """Base64 ciphertext of ``msg`` framed for this AppId."""
        data = msg.encode("utf-8") if isinstance(msg, str) else msg
        prefix = random16 if random16 is not None else secrets.token_bytes(16)
        if len(prefix) != 16:
            raise ValueError("random prefix must be 16 bytes")
        plain = prefix + struct.pack(">I", len(data)) + data + self._app_id_bytes
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        return base64.b64encode(self.keys[key_index].cipher.encrypt(plain)).decode("ascii")

    def encrypt_reply(self, xml: str, *, nonce: str, timestamp: str, key_index: int = 0,
                      random16: bytes | None = None) -> str:
        """The passive-reply envelope: Encrypt, MsgSignature, TimeStamp, Nonce."""
        encrypt = self.encrypt(xml, random16=random16, key_index=key_index)
        signature = sha1_signature(self.token, timestamp, nonce, encrypt)
        return (
            f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
