from __future__ import annotations

import pytest

from intents import NLU
from intents.normalize import cn_to_int


@pytest.mark.parametrize(("raw", "expected"), [
    ("我阿嬷昨日在厝跋倒了", "我奶奶昨天在家摔倒了"),
    ("無錫的朋友", "无锡的朋友"),
    ("伊無食飯", "他没吃饭"),
    ("我要報案", "我要报案"),
    ("ＡＢＣ１２３", "abc123"),
    ("住院十天", "住院10天"),
    ("我七十八歲", "我78岁"),
    ("花了两千五", "花了2500"),
    ("赔了1.5万", "赔了15000"),
    ("三千块", "3000块"),
    ("3千元", "3000元"),
    ("三月五號", "3月5号"),
    ("理陪要什么材料", "理赔要什么材料"),
    ("我要报暗", "我要报案"),
    ("保显管什么", "保险管什么"),
    ("主院一天多少钱", "住院1天多少钱"),
    ("十分感谢", "十分感谢"),
    ("千万别", "千万别"),
    ("万一摔倒", "万一摔倒"),
    ("免费吗", "免费吗"),
    ("我爸88岁", "我爸88岁"),
    ("88", "再见"),
    ("你好😀😀！！！", "你好!"),
    ("在吗？？？", "在吗?"),
    ("[微笑]你好", "你好"),
    ("我要\x00报\x07案", "我要 报 案"),
    ("   ", ""),
    ("😀🎉", ""),
])
def test_normalize(nlu: NLU, raw: str, expected: str) -> None:
    assert nlu.normalizer(raw) == expected


@pytest.mark.parametrize(("cn", "value"), [
    ("七十八", 78), ("两千五", 2500), ("一万五", 15000), ("三百五", 350), ("一千零五", 1005),
    ("十", 10), ("十五", 15), ("二十", 20), ("一百二十", 120), ("二零二六", 2026)])
def test_cn_to_int(cn: str, value: int) -> None:
    assert cn_to_int(cn) == value


def test_mixed_scripts_and_long(nlu: NLU) -> None:
    out = nlu.normalizer("Hello 你好 こんにちは 안녕 Привет" * 500)
    assert "你好" in out and "こんにちは" in out and "привет" in out
