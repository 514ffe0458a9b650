"""Field encryption: AES-GCM with key ids (rotation), purpose binding, tamper detection; blind index."""

from __future__ import annotations

import base64
import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.security.crypto import CryptoError, FieldCipher


def _cipher(keys: dict[str, bytes], active: str, index_key: str = "index-key-0123456789") -> FieldCipher:
    return FieldCipher.from_config(
        keys_json=json.dumps({k: base64.b64encode(v).decode() for k, v in keys.items()}),
        active_key_id=active, blind_index_key=index_key,
    )


K1, K2 = os.urandom(32), os.urandom(32)


def test_d01_roundtrip_and_no_plaintext_in_ciphertext() -> None:
    c = _cipher({"k1": K1}, "k1")
    token = c.encrypt("44051419530101123X", purpose="roster.id_number")
    assert "44051419530101123X" not in token
    assert token.startswith("v1.k1.")
    assert c.decrypt(token, purpose="roster.id_number") == "44051419530101123X"
    # Same value twice gives different ciphertexts (random nonce).
    assert c.encrypt("x", purpose="p") != c.encrypt("x", purpose="p")


@given(st.text(max_size=200))
def test_d01_roundtrip_property(value: str) -> None:
    c = _cipher({"k1": K1}, "k1")
    assert c.decrypt(c.encrypt(value, purpose="p"), purpose="p") == value


def test_d01_key_rotation_old_values_still_decrypt() -> None:
    old = _cipher({"k1": K1}, "k1")
    token = old.encrypt("13812345678", purpose="phone")
    new = _cipher({"k1": K1, "k2": K2}, "k2")
    assert new.decrypt(token, purpose="phone") == "13812345678"
    assert new.needs_rotation(token)
    fresh = new.encrypt("13812345678", purpose="phone")
    assert fresh.startswith("v1.k2.") and not new.needs_rotation(fresh)
    with pytest.raises(CryptoError):
        old.decrypt(fresh, purpose="phone")  # old process does not know k2


def _flip_byte(token: str) -> str:
    head, blob = token.rsplit(".", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[-20] ^= 0x01  # one bit of the ciphertext body
    return f"{head}.{base64.b64encode(bytes(raw)).decode()}"


@pytest.mark.parametrize("mutate", [
    _flip_byte,                                                    # flipped ciphertext bit
    lambda t: t.replace("v1.", "v9.", 1),                          # unknown version
    lambda t: t.replace(".k1.", ".zz.", 1),                        # unknown key id
    lambda t: "garbage",
    lambda t: "v1.k1.%%%",
    lambda t: "v1.k1." + base64.b64encode(b"short").decode(),
])
def test_d01_tampered_or_corrupt_ciphertext_is_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    c = _cipher({"k1": K1}, "k1")
    token = c.encrypt("6222021234567890123", purpose="bank")
    with pytest.raises(CryptoError):
        c.decrypt(mutate(token), purpose="bank")


def test_d01_purpose_binding() -> None:
    c = _cipher({"k1": K1}, "k1")
    token = c.encrypt("secret", purpose="claims.bank_account")
    with pytest.raises(CryptoError):
        c.decrypt(token, purpose="roster.id_number")


def test_blind_index_is_keyed_deterministic_and_purpose_bound() -> None:
    a = _cipher({"k1": K1}, "k1", "index-key-aaaaaaaaaaaa")
    b = _cipher({"k1": K1}, "k1", "index-key-bbbbbbbbbbbb")
    v = "44051419530101123X"
    assert a.blind_index(v, purpose="id") == a.blind_index(v, purpose="id")
    assert a.blind_index(v, purpose="id") != b.blind_index(v, purpose="id")
    assert a.blind_index(v, purpose="id") != a.blind_index(v, purpose="phone")
    assert v not in a.blind_index(v, purpose="id") and len(a.blind_index(v, purpose="id")) == 64


@pytest.mark.parametrize("keys,active,index_key", [
    ("not json", "k1", "index-key-0123456789"),
    (json.dumps({"k1": "not base64!"}), "k1", "index-key-0123456789"),
    (json.dumps({"k1": base64.b64encode(b"short").decode()}), "k1", "index-key-0123456789"),
    (json.dumps({"k1": base64.b64encode(K1).decode()}), "k9", "index-key-0123456789"),
    (json.dumps({"k.1": base64.b64encode(K1).decode()}), "k.1", "index-key-0123456789"),
    (json.dumps({"k1": base64.b64encode(K1).decode()}), "k1", "short"),
], ids=["not-json", "not-base64", "short-key", "unknown-active", "dotted-id", "short-index-key"])
def test_bad_key_configuration_is_refused(keys: str, active: str, index_key: str) -> None:
    with pytest.raises(CryptoError):
        FieldCipher.from_config(keys_json=keys, active_key_id=active, blind_index_key=index_key)


def test_bulk_indexer_equals_blind_index() -> None:
    c = _cipher({"k1": K1}, "k1")
    index = c.indexer("roster.id_number")
    for value in ("44051419530101123X", "13812345678", ""):
        assert index(value) == c.blind_index(value, purpose="roster.id_number")
    assert c.indexer("other")("x") != index("x")
