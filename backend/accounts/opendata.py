"""The legacy ``encryptedData`` form of the mini-program's open data (e.g. the phone number).

AES-128-CBC with PKCS#7, key = base64(session_key), iv = base64(iv) (WeChat's 开放数据校验与解密).
The result must carry a watermark with OUR AppId and a recent timestamp (catalogue M-03). A session
key that changed since (the user logged in again) does not decrypt: :class:`OpenDataError`, which
the API answers with "请重新登录" (409), never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class OpenDataError(Exception):
    """The data does not decrypt, is not ours, or is stale; ``code`` says which."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise OpenDataError("not_base64") from None


def decrypt_open_data(
    *, session_key: str, encrypted_data: str, iv: str, app_id: str, now_ts: float, max_age_s: int
) -> dict[str, Any]:
    """The decrypted JSON object, after the watermark checks."""
    key, ivb, data = _b64(session_key), _b64(iv), _b64(encrypted_data)
    if len(key) != 16 or len(ivb) != 16 or not data or len(data) % 16:
        raise OpenDataError("malformed")
    dec = Cipher(algorithms.AES(key), modes.CBC(ivb)).decryptor()
    clear = dec.update(data) + dec.finalize()
    pad = clear[-1]
    if not 1 <= pad <= 16 or clear[-pad:] != bytes([pad]) * pad:
        raise OpenDataError("does_not_decrypt")  # usually a session key that changed since
    try:
        obj = json.loads(clear[:-pad].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise OpenDataError("does_not_decrypt") from None
    if not isinstance(obj, dict):
        raise OpenDataError("does_not_decrypt")
    mark = obj.get("watermark")
    if not isinstance(mark, dict) or mark.get("appid") != app_id:
        raise OpenDataError("wrong_appid")
    ts = mark.get("timestamp")
    if not isinstance(ts, int) or abs(now_ts - ts) > max_age_s:
        raise OpenDataError("stale")
    return obj
