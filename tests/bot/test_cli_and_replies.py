"""``python -m bot menu`` against the fake WeChat API, and reply splitting (W-12)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.cli import MENU_FILE, load_menu
from bot.contract import BotReply, NewsItem
from bot.replies import plan_messages, render_passive, split_text
from tests.support.fake_wechat import FakeWechat


def test_menu_command_creates_the_menu(fake_wechat: FakeWechat) -> None:
    env = {
        "CS_WECHAT__APP_ID": fake_wechat.app_id,
        "CS_WECHAT__APP_SECRET": fake_wechat.app_secret,
        "CS_WECHAT__API_BASE_URL": fake_wechat.url,
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "menu"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    names = [b["name"] for b in fake_wechat.menus[0]["button"]]
    subs = [s["name"] for s in fake_wechat.menus[0]["button"][2]["sub_button"]]
    assert set(names[:2] + subs) == {"产品咨询", "我要报案", "理赔进度", "投诉建议", "人工客服"}


def test_menu_file_checked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert len(load_menu(MENU_FILE)["button"]) == 3
    bad = tmp_path / "m.yaml"
    bad.write_text("button: [{name: a}, {name: b}, {name: c}, {name: d}]", encoding="utf-8")
    with pytest.raises(ValueError):
        load_menu(bad)


def test_w12_split_never_inside_a_character() -> None:
    text = "😀" * 1000 + "理赔" * 1000
    pieces = split_text(text)
    assert all(len(p.encode()) <= 2048 for p in pieces)
    assert "".join(pieces) == text


def test_w12_split_prefers_line_breaks() -> None:
    text = ("第一段" * 100 + "\n") * 10
    pieces = split_text(text)
    assert all(p.rstrip("\n").endswith("第一段") for p in pieces) and len(pieces) == 5


def test_replies_merged_and_news_kept() -> None:
    plan = plan_messages([BotReply(text="一"), BotReply(text="二"), BotReply(news=(NewsItem("标题"),))])
    assert plan[0].text == "一\n\n二" and plan[1].news[0].title == "标题"
    assert plan_messages([BotReply(text="  ")]) == []


def test_cdata_breakout_escaped() -> None:
    from bot.inbound import parse_xml

    xml = render_passive(plan_messages([BotReply(text="a]]><x>b")])[0], to_user="u", from_user="gh")
    assert parse_xml(xml.encode())["Content"] == "a]]><x>b"
