"""Command line of the WeChat adapter.

* ``python -m bot menu`` builds the custom menu from ``config/wechat_menu.yaml`` and creates it.
* ``python -m bot simulate --url http://127.0.0.1:8000/wechat`` chats with a running server through
  the real webhook protocol: each stdin line is signed (and encrypted in safe mode) and POSTed as a
  user's text message; the answers are decrypted and printed.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from config.settings import CONFIG_DIR

MENU_FILE = CONFIG_DIR / "wechat_menu.yaml"


def load_menu(path: Path | None = None) -> dict[str, Any]:
    """The menu as WeChat's menu/create JSON, checked against WeChat's size rules."""
    data = yaml.safe_load((path or MENU_FILE).read_text(encoding="utf-8"))
    buttons = data.get("button") if isinstance(data, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ValueError("the menu needs 1 to 3 top-level buttons")
    for button in buttons:
        subs = button.get("sub_button")
        if subs is not None and not 1 <= len(subs) <= 5:
            raise ValueError(f"menu '{button.get('name')}' needs 1 to 5 sub-buttons")
        for item in [button, *(subs or [])]:
            if not item.get("name"):
                raise ValueError("every menu button needs a name")
    return {"button": buttons}


def cmd_menu(args: argparse.Namespace) -> int:
    """Create the custom menu through the gateway."""
    from backend.gateways.wechat import WechatApiError, WechatGateway
    from config.settings import get_settings

    settings = get_settings().wechat
    menu = load_menu(Path(args.file) if args.file else None)
    gateway = WechatGateway(app_id=settings.app_id, app_secret=settings.app_secret.get_secret_value(),
                            redis_client=None, api_base_url=settings.api_base_url,
                            timeout_s=settings.api_timeout_s)
    try:
        gateway.create_menu(menu)
    except WechatApiError as exc:
        print(f"菜单创建失败 / menu not created: {exc}", file=sys.stderr)
        return 1
    print("菜单已更新 / menu created: " + " / ".join(b["name"] for b in menu["button"]))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Chat with a running webhook from stdin."""
    import httpx

    from bot.crypto import MessageCrypto, sha1_signature
    from bot.inbound import parse_xml
    from config.settings import get_settings

    settings = get_settings().wechat
    token = settings.token.get_secret_value()
    crypto = MessageCrypto(token=token, app_id=settings.app_id,
                           encoding_aes_key=settings.encoding_aes_key.get_secret_value())
    encrypt = settings.mode == "safe" or args.encrypt
    to_user = settings.original_id or "gh_simulator"
    with httpx.Client(timeout=10) as client:
        for line in sys.stdin:
            text = line.rstrip("\n")
            ts, nonce = str(int(time.time())), secrets.token_hex(5)
            inner = (f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
                     f"<FromUserName><![CDATA[{args.openid}]]>"
                     f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                     f"<Content><![CDATA[{text}]]></Content><MsgId>{time.time_ns() // 1000}</MsgId></xml>")
            params = {"timestamp": ts, "nonce": nonce, "signature": sha1_signature(token, ts, nonce),
                      "openid": args.openid}
            body = inner
            if encrypt:
                enc = crypto.encrypt(inner)
                params.update(encrypt_type="aes", msg_signature=sha1_signature(token, ts, nonce, enc))
                body = (f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
                        f"<Encrypt><![CDATA[{enc}]]></Encrypt></xml>")
            r = client.post(args.url, params=params, content=body.encode())
            if r.status_code != 200:
                print(f"[HTTP {r.status_code}]")
                continue
            if r.text == "success":
                print("[success: 回复将通过客服消息发送 / reply goes through the customer-service API]")
                continue
            fields = parse_xml(r.content)
            if "Encrypt" in fields:
                fields = parse_xml(crypto.decrypt(fields["Encrypt"])[0])
            print(fields.get("Content") or fields.get("Title") or r.text)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m bot")
    sub = parser.add_subparsers(dest="command", required=True)
    menu = sub.add_parser("menu", help="create the official account's custom menu")
    menu.add_argument("--file", default="", help="menu YAML (default config/wechat_menu.yaml)")
    menu.set_defaults(handler=cmd_menu)
    sim = sub.add_parser("simulate", help="chat with a running webhook from stdin")
    sim.add_argument("--url", default="http://127.0.0.1:8000/wechat")
    sim.add_argument("--openid", default="oSimulator" + "0" * 18)
    sim.add_argument("--encrypt", action="store_true", help="encrypt even when mode is not safe")
    sim.set_defaults(handler=cmd_simulate)
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result
