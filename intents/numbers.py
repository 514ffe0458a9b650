"""Amounts, ages and hospital days in normalized text (Chinese numerals already turned into digits).

Conventions (docs/intents.md): an amount is a sum of money the message states (3000块, 赔了3000, 最多5400),
also a per-day rate (一天30块); an age is the stated age of a person (78岁, 阿嬷88, 伊77), not a
threshold (60岁以上, 满60的人, 下个月满60); days are the length of a hospital stay (住院10天, 住了两个星期).
"""

from __future__ import annotations

import re

_RE_AMOUNT_UNIT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*多?\s*(?:元|块钱|块|圆|rmb|人民币)")
_RE_AMOUNT_VERB = re.compile(
    r"(?:赔款|赔了|赔偿|赔付|赔足|赔|花了|花费|花|付了|交了|给了|报销|医药费|医疗费|药费|费用|拿到|收到|到账|欠|要赔|赔我|"
    r"最多|按|领了|领取|领到|能领|领|拿到|能拿|只给了|补了)"
    r"\s*(?:了|我|大概|差不多|约|足)?\s*(\d{2,}(?:\.\d+)?)(?![\d岁天号月年日级%])")
# 1000左右能赔吗 / 差不多3000块左右: an estimate of money, in a message about money
_RE_AMOUNT_ABOUT = re.compile(r"(?<![\d.])(\d{3,}(?:\.\d+)?)\s*(?:块|元)?\s*(?:左右|上下)(?!\s*[天日岁个])")
_RE_MONEY_WORD = re.compile(r"赔|钱|领|报销|费|块|元")
_RE_AGE = re.compile(r"(?<![\d.])(\d{1,3})\s*多?\s*(?:周岁|岁)")
_RE_AGE_CTX = re.compile(r"(?:今年|年龄|年纪|已经|满)\s*(\d{2,3})(?![\d年号元块天月.个周日])")
# "奶奶95了": a bare number of 50–119 followed by 了 (amounts and durations carry a unit)
_RE_AGE_LE = re.compile(r"(?<![\d.])([5-9]\d|1[01]\d)\s*了")
# "阿嬷88 在祠堂..." / "伊77" / "我爸83 查...": a bare 50–119 right after a person
_RE_AGE_PERSON = re.compile(
    r"(?:我|他|她|奶奶|爷爷|外婆|外公|妈妈|爸爸|我妈|我爸|母亲|父亲|老伴|老婆|老公|伯伯|阿伯|阿婶|婶婶|姑姑|舅舅|姨妈|"
    r"岳母|岳父|婆婆|公公|阿婆)\s*([5-9]\d|1[01]\d)(?![\d年号元块天月.个周日岁%级几多])")
# thresholds and plural/generic ages are not a person's age
_RE_AGE_GENERIC_AFTER = re.compile(r"^\s*(?:周岁|岁)?\s*(?:以上|以下|以内|以后|以前|之后|的人|的老人|"
                                   r"的要|的话|的才|老人|就有|才有|开始)")
_RE_AGE_GENERIC_BEFORE = re.compile(r"(?:下个月|下月|明年|快|还差|新|都|年满|不满|未满|超过|到了)\s*满?\s*$")
_RE_DAYS = re.compile(r"(\d{1,3})\s*多?\s*(天|日|个星期|个礼拜|星期|礼拜|周|个月)(?!前|以前|之前|\d)")
_RE_HALF_MONTH = re.compile(r"住[^,.!?，。]{0,4}半个月")


def _number(s: str) -> int | float:
    v = float(s)
    return int(v) if v.is_integer() else v


def read_amount(text: str) -> int | float | None:
    """The first sum of money stated in *text*."""
    for m in _RE_AMOUNT_UNIT.finditer(text):
        value = _number(m.group(1))
        if value == 1 and text[m.end(): m.end() + 1] != "钱" and "钱" not in text[m.start(): m.end()]:
            continue  # 手黑去一块 = a patch, not 1 yuan
        return value
    vm = _RE_AMOUNT_VERB.search(text)
    if vm:
        return _number(vm.group(1))
    am = _RE_AMOUNT_ABOUT.search(text)
    if am and _RE_MONEY_WORD.search(text):
        return _number(am.group(1))
    return None


def _generic_age(text: str, m: re.Match[str]) -> bool:
    return bool(_RE_AGE_GENERIC_AFTER.search(text[m.end(1): m.end(1) + 6])
                or _RE_AGE_GENERIC_BEFORE.search(text[max(0, m.start(1) - 6): m.start(1)]))


def read_age(text: str, amount: int | float | None = None) -> int | None:
    """The first stated age of a person in *text* (0 < age <= 130)."""
    for rx in (_RE_AGE, _RE_AGE_CTX, _RE_AGE_PERSON, _RE_AGE_LE):
        for m in rx.finditer(text):
            if _generic_age(text, m):
                continue
            if rx is _RE_AGE_LE and amount is not None and _number(m.group(1)) == amount:
                continue  # "交了80了": that number is the amount
            value = int(m.group(1))
            if 0 < value <= 130:
                return value
    return None


def read_days(text: str) -> int | None:
    """The length of a hospital stay stated in *text*."""
    for dm in _RE_DAYS.finditer(text):
        before = text[max(0, dm.start() - 8): dm.start()]
        after = text[dm.end(): dm.end() + 3]
        # 住院1天给多少 / 每天: a rate; 住了1个礼拜 is a stay
        per_day = before.endswith("每") or (dm.group(1) == "1" and dm.group(2) in ("天", "日")
                                             and not after.startswith(("院", "的院")))
        if not per_day and ("住" in before or after.startswith(("院", "的院", "医院"))):
            n = int(dm.group(1))
            unit = dm.group(2)
            if unit in ("个星期", "个礼拜", "星期", "礼拜", "周"):
                n *= 7
            elif unit == "个月":
                n *= 30
            return n
    if "半个月" in text and _RE_HALF_MONTH.search(text):
        return 15
    return None
