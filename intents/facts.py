"""What the dialogue needs beyond the contract's slots (``Prediction.facts``).

The ``slots`` object is compared exactly by the evaluation, so these readings live apart:

* ``disability_grade``: 十级伤残 / 伤残10级 / 九级 → 1..10;
* ``days_used_this_year``: hospital days already counted this year (今年已经住了150天);
* ``lunar_date``: a day was given in the lunar calendar (初三, 农历, 中秋): ask 农历还是阳历;
* ``death``: the message says someone died (走了, 去世, 身故): condolences first, no "受伤老人";
* ``emergency``: someone is hurt right now (起不来, 流血不止, 昏迷, 要不要叫救护车): say "call 120" first;
* ``corrected``: the message corrects itself (不是我爸 是我老伴): the slot holds the corrected value.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

_RE_GRADE = re.compile(r"(?:伤残|残疾)\s*(?:等级)?\s*(?:是|评了|评为|评定为|评上|定为)?\s*(\d{1,2})\s*级"
                       r"|(\d{1,2})\s*级\s*(?:伤残|残疾)")
_RE_YEAR_DAYS = re.compile(r"今年\s*(?:已经|都|总共|一共|累计)?\s*住(?:了|院|过)?\s*(?:院)?\s*"
                           r"(\d{1,3})\s*(?:多)?\s*(?:天|日)")
_RE_DEATH = re.compile(
    r"去世|过世|身故|死亡|死了|走了|没了|人没了|遇难|丧命|过身|淹死|撞死|摔死|没抢救过来|抢救无效|不在了|往生|仙逝|走去|离世")
# the same words in a question about the benefit (死亡赔多少) do not say that someone died
_RE_DEATH_HYPOTHETICAL = re.compile(r"万一|如果|要是|假如|假设|是不是|算不算|赔多少|赔几多|能赔|有赔|赔吗|"
                                    r"多少钱|几多钱|怎么赔|赔偿金额")
_RE_EMERGENCY = re.compile(
    r"起不来|爬不起来|站不起来|站不起|动不了|流血不止|一直流血|流好多血|流了很多血|血流不止|昏迷|不省人事|叫不醒|没反应|"
    r"没有呼吸|喘不过气|救护车|叫120|打120|要不要送医院|怎么办啊|快来人|救命")


@dataclass(frozen=True)
class MessageFacts:
    """Readings of one message that are not contract slots (all optional)."""

    disability_grade: int | None = None
    days_used_this_year: int | None = None
    lunar_date: bool = False
    death: bool = False
    emergency: bool = False
    corrected: bool = False

    def to_json(self) -> dict[str, Any]:
        """The readings that are set, as a JSON-ready dict."""
        return {k: v for k, v in asdict(self).items() if v not in (None, False)}


def read_facts(norm: str, *, lunar_date: bool = False, corrected: bool = False) -> MessageFacts:
    """Facts of normalized text *norm*; *lunar_date* and *corrected* come from the slot rules."""
    grade = None
    m = _RE_GRADE.search(norm)
    if m:
        value = int(m.group(1) or m.group(2))
        grade = value if 1 <= value <= 10 else None
    ym = _RE_YEAR_DAYS.search(norm)
    death = bool(_RE_DEATH.search(norm)) and not _RE_DEATH_HYPOTHETICAL.search(norm)
    return MessageFacts(disability_grade=grade, days_used_this_year=int(ym.group(1)) if ym else None,
                        lunar_date=lunar_date, death=death, emergency=bool(_RE_EMERGENCY.search(norm)),
                        corrected=corrected)
