"""Message crypto conformance: Tencent's vectors A and B, rotation, malformed input (W-06, W-07)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto

from bot.crypto import CryptoError, MessageCrypto, sha1_signature
from tests.bot.conftest import AES_KEY, OLD_KEY

A_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2L"
    "dJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5"
    "VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgC"
    "SUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9Ghgl"
    "F2PE="
)
A_PLAIN = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
    "<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>"
)


def vector_a(app_id: str = "wx2c2769f8efd9abc2") -> MessageCrypto:
    return MessageCrypto(token="spamtest", app_id=app_id, encoding_aes_key=AES_KEY)


def test_vector_a_tencent_sample_decrypts() -> None:
    crypto = vector_a()
    crypto.check_msg_signature(
        msg_signature="5d197aaffba7e9b25a30732f161a50dee96bd5fa",
        timestamp="1409735669",
        nonce="1320562132",
        encrypt=A_ENCRYPT,
    )
    plain, key_index = crypto.decrypt(A_ENCRYPT)
    assert plain.decode() == A_PLAIN and len(plain) == 280 and key_index == 0
    raw = crypto.keys[0].cipher.decrypt(base64.b64decode(A_ENCRYPT))
    assert raw[:16] == b"89465c840c5f116f"
    assert raw[-1] == 2


def test_w07_vector_a_wrong_app_id_refused() -> None:
    with pytest.raises(CryptoError) as info:
        vector_a("wx0000000000000000").decrypt(A_ENCRYPT)
    assert info.value.reason == "wrong_app_id"


def test_w01_vector_a_bad_signature_refused() -> None:
    with pytest.raises(CryptoError):
        vector_a().check_msg_signature(
            msg_signature="5d197aaffba7e9b25a30732f161a50dee96bd5fb",
            timestamp="1409735669",
            nonce="1320562132",
            encrypt=A_ENCRYPT,
        )
    with pytest.raises(CryptoError):
        vector_a().check_msg_signature(
            msg_signature=None, timestamp="1409735669", nonce="1320562132", encrypt=A_ENCRYPT
        )


def test_vector_b_tencent_java_deterministic_encrypt() -> None:
    crypto = MessageCrypto(token="pamtest", app_id="wxb11529c136998cb6", encoding_aes_key=AES_KEY)
    encrypt = crypto.encrypt("我是中文abcd123", random16=b"aaaabbbbccccdddd")
    assert (
        encrypt == "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
    )
    assert (
        sha1_signature("pamtest", "1409304348", "xxxxxx", encrypt)
        == "82c962d39941aa48552f90ef55aa323dc620cc10"
    )
    assert crypto.decrypt(encrypt)[0].decode() == "我是中文abcd123"


def test_wechatpy_reads_our_encrypted_reply() -> None:
    ours = vector_a()
    xml = ours.encrypt_reply(
        "<xml><Content><![CDATA[你好😀]]></Content></xml>", nonce="n1", timestamp="1409735669"
    )
    theirs = WeChatCrypto("spamtest", AES_KEY, "wx2c2769f8efd9abc2")
    import xmltodict

    env = xmltodict.parse(xml)["xml"]
    assert (
        theirs.decrypt_message(xml, env["MsgSignature"], "1409735669", "n1")
        == "<xml><Content><![CDATA[你好😀]]></Content></xml>"
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000))
def test_w06_property_encrypt_then_decrypt_is_identity(text: str) -> None:
    crypto = vector_a()
    data = (
        text.encode("utf-8", "surrogatepass")
        if any("\ud800" <= c <= "\udfff" for c in text)
        else text.encode()
    )
    assert crypto.decrypt(crypto.encrypt(data))[0] == data


def test_w06_boundary_26_bytes_with_18_char_appid_fills_a_pad_block() -> None:
    crypto = vector_a()
    encrypt = crypto.encrypt("a" * 26, random16=b"0" * 16)
    raw = crypto.keys[0].cipher.decrypt(base64.b64decode(encrypt))
    assert raw[-32:] == bytes([32]) * 32
    assert crypto.decrypt(encrypt)[0] == b"a" * 26


@pytest.mark.parametrize(
    "encrypt",
    [
        "not base64!!",  # binascii.Error in wechatpy
        "aGVsbG8",  # truncated base64
        base64.b64encode(b"x" * 20).decode(),  # length not a multiple of 16 (ValueError)
        "",  # IndexError in wechatpy
        base64.b64encode(bytes(range(32))).decode(),  # random block (struct.error in wechatpy)
        base64.b64encode(b"\x00" * 64).decode(),
    ],
)
def test_w06_malformed_encrypt_is_one_crypto_error(encrypt: str) -> None:
    with pytest.raises(CryptoError):
        vector_a().decrypt(encrypt)


def test_w06_padding_byte_range_checked() -> None:
    crypto = vector_a()
    key = crypto.keys[0]
    for last in (0, 33, 200):
        block = b"\x01" * 63 + bytes([last])
        with pytest.raises(CryptoError):
            crypto.decrypt(base64.b64encode(key.cipher.encrypt(block)).decode())


def test_key_rotation_previous_key_still_decrypts() -> None:
    old_only = MessageCrypto(token="t", app_id="wx2c2769f8efd9abc2", encoding_aes_key=OLD_KEY)
    rotated = MessageCrypto(
        token="t", app_id="wx2c2769f8efd9abc2", encoding_aes_key=AES_KEY, previous_encoding_aes_key=OLD_KEY
    )
    assert rotated.decrypt(old_only.encrypt("旧密钥"))[0].decode() == "旧密钥"
    assert rotated.decrypt(old_only.encrypt("旧密钥"))[1] == 1
    assert rotated.decrypt(vector_a().encrypt("新密钥")) == ("新密钥".encode(), 0)
    stranger = MessageCrypto(
        token="t", app_id="wx2c2769f8efd9abc2", encoding_aes_key="0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
    )
    with pytest.raises(CryptoError):
        rotated.decrypt(stranger.encrypt("别人的密钥"))


def test_bad_encoding_aes_key_refused() -> None:
    with pytest.raises(ValueError):
        MessageCrypto(token="t", app_id="a", encoding_aes_key="short")
