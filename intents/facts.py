"""What the dialogue needs beyond the contract's slots (``Prediction.facts``).

The ``slots`` object is compared exactly by the evaluation, so these readings live apart:

* ``disability_grade``: 十级伤残 / 伤残10级 / 九级 → 1..10;
* ``days_used_this_year``: hospital days already counted this year (今年已经住了150天);
* ``lunar_date``: a day was given in the lunar calendar (初三, 廿八, 农历, 中秋): ask 农历还是阳历;
* ``lunar_gregorian``: the solar day (ISO) that lunar day most likely means, the latest not after the
  message (初五 on 2026-12-03 = 农历十月初五 = 2026-11-13), to confirm "农历十月初五（阳历11月13日）";
* ``approximate``: a figure is an estimate (快一百天, 一千左右, 差不多三千, 100多天): "about";
* ``death``: the message says someone died (走了, 去世, 身故): condolences first, no "受伤老人";
* ``emergency``: someone is hurt right now (起不来, 流血不止, 昏迷, 要不要叫救护车): say "call 120" first;
* ``corrected``: the message corrects itself (不是我爸 是我老伴): the slot holds the corrected value.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

# 伤残7级, 七级伤残, 伤残鉴定出来是七级, 鉴定结果评了8级: a grade said near 伤残 or 鉴定, in one clause
_RE_GRADE = re.compile(r"(?:伤残|残疾|鉴定)[^，,。.？?！!；;\d]{0,8}?(\d{1,2})\s*级"
                       r"(?!\s*(?:医院|甲|乙|及|以上))"
                       r"|(\d{1,2})\s*级\s*(?:伤残|残疾)"
                       r"|评(?:了|为|定|到)?\s*(\d{1,2})\s*级(?!\s*(?:医院|甲|乙))")  # 伤残鉴定出来了，评九级
_RE_YEAR_DAYS = re.compile(r"今年\s*(?:已经|都|总共|一共|累计)?\s*住(?:了|院|过)?\s*(?:院)?\s*"
                           r"(\d{1,3})\s*(?:多)?\s*(?:天|日)")
_RE_DEATH = re.compile(  # 没了 of a person, not of a thing (保险无了, 钱没了)
    r"去世|过世|身故|死亡|死了|走了|(?<![险钱卡号电费票药水油])没了|人没了|遇难|丧命|过身|淹死|撞死|摔死|没抢救过来|抢救无效|不在了|往生|仙逝|走去|离世")
# the same words in a question about the benefit (死亡赔多少) do not say that someone died
_RE_DEATH_HYPOTHETICAL = re.compile(r"万一|如果|要是|假如|假设|是不是|算不算|赔多少|赔几多|能赔|有赔|赔吗|"
                                    r"多少钱|几多钱|怎么赔|赔偿金额|"
                                    r"才有(?!空|时间|机会)|才赔|才能赔|才给|才算")  # 过身才有: a rule
# a figure said as an estimate: 快100天, 将近3000, 1000左右, 100多天
_RE_APPROX = re.compile(r"(?:快|将近|接近|差不多|大概|大约|(?<![预签合])约|(?<!最)近)\s*\d"
                        r"|\d\s*(?:多|来)?\s*(?:天|日|块|元)?\s*(?:左右|上下)"
                        r"|\d\s*多\s*(?:天|日|块|元|万)")
_RE_EMERGENCY = re.compile(
    r"起不来|爬不起来|站不起来|站不起|动不了|流血不止|一直流血|流好多血|流了很多血|血流不止|昏迷|不省人事|叫不醒|没反应|"
    r"没有呼吸|喘不过气|救护车|叫120|打120|要不要送医院|怎么办啊|快来人|救命")


@dataclass(frozen=True)
class MessageFacts:
    """Readings of one message that are not contract slots (all optional)."""

    disability_grade: int | None = None
    days_used_this_year: int | None = None
    lunar_date: bool = False
    lunar_gregorian: str | None = None
    approximate: bool = False
    death: bool = False
    emergency: bool = False
    corrected: bool = False

    def to_json(self) -> dict[str, Any]:
        """The readings that are set, as a JSON-ready dict."""
        return {k: v for k, v in asdict(self).items() if v not in (None, False)}


def read_facts(norm: str, *, lunar_date: bool = False, corrected: bool = False,
               lunar_gregorian: date | None = None) -> MessageFacts:
    """Facts of normalized text *norm*; *lunar_date*, *lunar_gregorian* and *corrected* come from the slot
    rules."""
    grade = None
    m = _RE_GRADE.search(norm)
    if m:
        value = int(m.group(1) or m.group(2) or m.group(3))
        grade = value if 1 <= value <= 10 else None
    ym = _RE_YEAR_DAYS.search(norm)
    death = bool(_RE_DEATH.search(norm)) and not _RE_DEATH_HYPOTHETICAL.search(norm)
    return MessageFacts(disability_grade=grade, days_used_this_year=int(ym.group(1)) if ym else None,
                        lunar_date=lunar_date,
                        lunar_gregorian=lunar_gregorian.isoformat() if lunar_gregorian is not None else None,
                        approximate=bool(_RE_APPROX.search(norm)), death=death,
                        emergency=bool(_RE_EMERGENCY.search(norm)), corrected=corrected)
