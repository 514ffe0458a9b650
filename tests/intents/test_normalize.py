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
    # Teochew forms, Cantonese forms and voice-input slips from the blind message sets
    ("阿嬷乎电单车撞着", "奶奶被电单车撞到"),
    ("卬行袂去", "我走不去"),
    ("我个里陪几时到", "我的理赔什么时候到"),
    ("赔了未", "赔了没"),
    ("拢无人接", "都没人接"),
    ("几多钱", "多少钱"),
    ("阮翁跋倒", "我老公摔倒"),
    ("住员八日", "住院8日"),
    ("十一月廿号", "11月20号"),
    ("八月卅号", "8月30号"),
    ("廿五日", "25日"),
    ("一五八 二六三一 〇七四九", "158 2631 0749"),
    ("老豆喺屋企跌親，入咗醫院", "老豆在家摔倒,进了医院"),
    ("有冇人工", "有没有人工"),
    ("着", "对"),
    ("几乎没有", "几乎没有"),
    ("未来", "未来"),
    ("拉拢", "拉拢"),
    # digits dictated by voice: 洞 is zero, 幺 one, 两 two; the ID's last X spoken as 叉
    ("电话幺五九 幺幺两洞 三四五六", "电话159 1120 3456"),
    ("打了 幺二洞", "打了 120"),
    ("山洞里有洞", "山洞里有洞"),
    ("四四洞五幺四 幺九四八 洞七洞五 幺幺四叉", "440514 1948 0705 114x"),
    ("竹院三天", "住院3天"),
    ("被狗药了", "被狗咬了"),
    ("那做船呢", "那坐船呢"),
    # English from relatives abroad: content words read, function words dropped; Cantonese kinship
    ("my dad fell at home yesterday", "我爸 摔倒 在家 昨天"),
    ("i'm his son", "我是他儿子"),
    ("我係佢女", "我是她女儿"),
    # sets AA/AB/Y: Cantonese question words and passives, English yes / medical words, voice 着着着
    ("審完幾耐先有錢", "审完多久才有钱"),
    ("俾人逼到 撞落石柱", "被人挤到 撞到石柱"),
    ("佢有少少concussion 住咗喺醫院", "他有一点脑震荡 住在医院"),
    ("yes correct", "对 对"),
    ("it was on the bus", "bus"),  # "on" is a dropped word (YAML once read the key as True)
    ("着着着", "对对对"),
    ("要包案", "要报案"),
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


def test_words_pattern_matches_the_longest_word_like_a_sorted_alternation() -> None:
    import random
    import re

    from intents.wordre import words_pattern

    words = ["阿", "阿公", "阿公个", "阿嬷", "跋", "跋倒", "跋落", "跋落来", "无", "无锡", "a.b", "(x)"]
    trie = re.compile(words_pattern(words))
    plain = re.compile("|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w))))
    rng = random.Random(7)
    alphabet = "阿公个嬷跋倒落来无锡a.b(x) "
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert [m.group(0) for m in trie.finditer(text)] == [m.group(0) for m in plain.finditer(text)], text
    assert words_pattern([]) == ""
