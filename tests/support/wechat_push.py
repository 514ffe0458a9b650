"""A customer's text message as WeChat pushes it to the webhook in safe mode: encrypted, and signed
both ways (``signature`` over the query, ``msg_signature`` over the ciphertext)."""

from __future__ import annotations

import secrets
import time

from bot.crypto import MessageCrypto, sha1_signature


def safe_mode_text_push(openid: str, text: str, *, token: str, app_id: str, aes_key: str, to_user: str,
                        created: int, msg_id: int) -> tuple[dict[str, str], bytes]:
    """The query parameters and the body of the push (``to_user``: the account's original id)."""
    crypto = MessageCrypto(token=token, app_id=app_id, encoding_aes_key=aes_key)
    ts, nonce = str(int(time.time())), secrets.token_hex(5)
    inner = (f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
             f"</FromUserName><CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
             f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>")
    enc = crypto.encrypt(inner)
    params = {"timestamp": ts, "nonce": nonce, "signature": sha1_signature(token, ts, nonce),
              "openid": openid, "encrypt_type": "aes", "msg_signature": sha1_signature(token, ts, nonce, enc)}
    body = f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
    return params, body.encode()
