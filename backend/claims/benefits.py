"""Benefit calculator, driven only by the product's data; amounts in integer fen (exact).

Hospital allowance days: the product says "从入院日到出院日", read literally: both the admission day
and the discharge day count (a stay admitted and discharged on the same day is 1 day). Days are then
capped per stay and by what is left of the yearly cap after the days already paid in the same
policy year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from backend.errors import ServiceError
from backend.products.schemas import Product


class BenefitInputError(ServiceError):
    """Input the calculator cannot use (the message says why, in Chinese)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__("invalid_benefit_input", message, detail={"field": field})


@dataclass(frozen=True, slots=True)
class BenefitItem:
    """One line of a calculation: what, how much, and the rule applied."""

    label: str
    amount_fen: int
    rule: str


@dataclass(frozen=True, slots=True)
class BenefitResult:
    """An itemised calculation."""

    benefit: str
    items: list[BenefitItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        """The sum of the items."""
        return sum(i.amount_fen for i in self.items)


def _yuan(fen: int) -> str:
    return f"{fen // 100}元" if fen % 100 == 0 else f"{fen / 100:.2f}元"


def hospital_allowance(
    product: Product, *, admission: dt.date, discharge: dt.date, paid_days_this_year: int = 0
) -> BenefitResult:
    """住院津贴 for one stay, given the days already paid in the same policy year."""
    ha = product.benefits.hospital_allowance
    if discharge < admission:
        raise BenefitInputError("出院日期不能早于入院日期", field="discharge")
    if paid_days_this_year < 0:
        raise BenefitInputError("今年已赔付天数不能是负数", field="paid_days_this_year")
    stay_days = (discharge - admission).days + (1 if ha.day_count_rule == "inclusive" else 0)
    left_this_year = max(0, ha.max_days_per_year - paid_days_this_year)
    days = min(stay_days, ha.max_days_per_stay, left_this_year)
    per_day_fen = ha.per_day_yuan * 100
    counted = "入院和出院当天都算" if ha.day_count_rule == "inclusive" else "按住院晚数算"
    notes = [f"住院{stay_days}天（{ha.day_counting}，{counted}）"]
    if stay_days > ha.max_days_per_stay:
        notes.append(f"每次住院最多赔{ha.max_days_per_stay}天")
    if days < min(stay_days, ha.max_days_per_stay):
        notes.append(
            f"每年最多赔{ha.max_days_per_year}天，今年已赔{paid_days_this_year}天，本次最多还能赔{left_this_year}天"
        )
    rule = f"每天{ha.per_day_yuan}元 × {days}天 = {_yuan(per_day_fen * days)}"
    return BenefitResult(
        benefit="hospital_allowance",
        items=[BenefitItem(label="住院津贴", amount_fen=per_day_fen * days, rule=rule)],
        notes=[*notes, f"须在{ha.hospital_requirement}住院"],
    )


def death_benefit(product: Product) -> BenefitResult:
    """意外身故保险金."""
    amount = product.benefits.accidental_death.amount_yuan * 100
    return BenefitResult(
        benefit="accidental_death",
        items=[BenefitItem(label="意外身故保险金", amount_fen=amount, rule=f"意外身故赔{_yuan(amount)}")],
    )


def disability_benefit(product: Product, *, grade: int) -> BenefitResult:
    """意外伤残保险金 by grade 1 (most severe) to 10."""
    dis = product.benefits.disability
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in dis.grade_percent:
        raise BenefitInputError(f"伤残等级应为1到{max(dis.grade_percent)}级", field="grade")
    percent = dis.grade_percent[grade]
    amount = dis.sum_insured_yuan * percent  # yuan × percent / 100 × 100 fen
    rule = f"{grade}级伤残按保险金额{dis.sum_insured_yuan}元的{percent}%赔付 = {_yuan(amount)}"
    return BenefitResult(
        benefit="disability",
        items=[BenefitItem(label=f"意外伤残保险金（{grade}级）", amount_fen=amount, rule=rule)],
        notes=[f"伤残等级按《{dis.standard}》评定"],
    )


def transport_death_benefit(product: Product, *, kind: str, operating: bool = True) -> BenefitResult:
    """Death while riding operating transport; a non-operating vehicle is an ordinary accident."""
    transport = product.benefits.transport_death
    if not operating:
        result = death_benefit(product)
        note = transport.get("non_operating_note")
        notes = [note] if isinstance(note, str) else ["乘坐非营运交通工具按普通意外处理"]
        return BenefitResult(benefit="accidental_death", items=result.items, notes=notes)
    try:
        benefit = product.benefits.transport(kind)
    except KeyError:
        raise BenefitInputError("交通工具类型不对", field="kind") from None
    amount = benefit.amount_yuan * 100
    return BenefitResult(
        benefit="transport_death",
        items=[
            BenefitItem(
                label=f"乘坐{benefit.label}身故保险金",
                amount_fen=amount,
                rule=f"乘坐{benefit.label}意外身故赔{_yuan(amount)}",
            )
        ],
        notes=["需要乘坐凭证：" + "、".join(benefit.proof)],
    )
