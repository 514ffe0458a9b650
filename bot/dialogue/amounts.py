"""Amount questions answered with the sum (住了一百天能领多少 → 2700元), computed by the product's
benefit calculator (``backend/claims/benefits.py``), with the limits that applied and "以审核为准".

A follow-up is read with the previous amount (那八级呢, 坐公交车, 为什么不是3000): ``state.last["amount"]``
keeps what the last sum was about.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from backend.claims.benefits import (
    disability_benefit,
    hospital_allowance,
    transport_death_benefit,
)
from backend.errors import ServiceError
from bot.dialogue.context import Turn
from bot.dialogue.memory import died

_RE_GRADE = re.compile(r"(\d{1,2})\s*级")
_RE_STAYS = re.compile(r"(\d)\s*次")


_RE_BARE_DAYS = re.compile(r"(\d{1,3})\s*(?:日|天)")  # a number of days said alone

def _yuan(fen: int) -> str:
    return f"{fen // 100}" if fen % 100 == 0 else f"{fen / 100:.2f}"


def answer(turn: Turn) -> bool:
    """Say the sum the message asks for, when it can be computed; False otherwise."""
    last = turn.state.last.get("amount") or {}
    topic = turn.state.last.get("topic")
    norm = turn.norm
    follow = bool(last) or topic in ("disability", "hospital_allowance", "transport_death",
                                     "transport_definition", "accident_death")
    if turn.cue("why_words") and last and not _has_new_figure(turn):
        return _explain(turn, last)
    # 住院补贴一日30 那一百日就是三千吧: a sum guessed for the stay told before is checked
    guess = turn.cue("guess_words") and turn.cue("allowance_words")
    told_grade = turn.fact("disability_grade") and turn.pred.intent in (
        "product_question", "fallback", "claim_report")
    another_stay = "stay_list" in turn.noted and last.get("kind") == "allowance"  # 3月也住过一次 30天
    if not (turn.asks or turn.cue("amount_words") or guess or (follow and len(norm) <= 12) or told_grade
            or another_stay):
        return False  # 伤残鉴定出来是七级, said alone, asks what that grade is paid
    grade = turn.fact("disability_grade")
    if grade is None and (last.get("kind") == "disability" or topic == "disability"):
        m = _RE_GRADE.search(norm)
        grade = int(m.group(1)) if m else None
    if grade is None and turn.cue("amount_words") and not _has_new_figure(turn) and not _stay_told(turn):
        grade = turn.state.notes.get("grade")  # 鉴定出来七级 … 能赔几多钱: the grade told before
    if grade:
        return _disability(turn, int(grade))
    used = turn.fact("days_used_this_year")
    if used is None and turn.cue("year_left_words") and turn.state.notes.get("days_paid"):
        used = int(turn.state.notes["days_paid"])  # 三月住满90日 已经赔了 … 今年还有几多日: what is left
    if used is not None:
        return _year_left(turn, int(used))
    if turn.cue("year_max_words") and (turn.cue("allowance_words") or topic == "hospital_allowance"
                                       or last.get("kind") == "allowance" or turn.state.notes.get("stay")):
        ha = turn.product.benefits.hospital_allowance  # 一年最多能赔多少: the year's cap, in yuan
        turn.say("amt_year_max", max=ha.per_day_yuan * ha.max_days_per_year, year_days=ha.max_days_per_year,
                 per_day=ha.per_day_yuan, stay_days=ha.max_days_per_stay)
        return True
    stay_list = _stay_list(turn)
    if len(stay_list) >= 2 and (turn.asks or turn.cue("amount_words") or another_stay):
        return _allowance_list(turn, stay_list)  # 第一次住了100日，第二次住了20日 … 两次加起来几多
    days = (turn.pred.slots or {}).get("days")
    notes = turn.state.notes
    bare = _RE_BARE_DAYS.search(norm) if not days and turn.cue("amount_words") else None
    stay_told = notes.get("stay") or notes.get("days") or topic == "hospital_allowance"
    if bare and int(bare.group(1)) > 1 and stay_told:
        days = int(bare.group(1))  # 按一百日算几多钱, about the stay told before (一日给几多: the rate)
    if not days and (turn.cue("allowance_words") or (  # 住了100天 … 那他能拿多少钱: that stay
            turn.cue("amount_words") and notes.get("stay") and not notes.get("death")
            and not _has_new_figure(turn))):
        days = notes.get("days")
    if days and (turn.cue("stay_words") or topic == "hospital_allowance" or last.get("kind") == "allowance"
                 or turn.cue("amount_words")):
        stays = _RE_STAYS.search(norm)
        count = int(stays.group(1)) if stays and ("每次" in norm or "各" in norm) else 1
        return _allowance(turn, int(days), count)
    transport = (turn.pred.slots or {}).get("transport")
    if not transport and notes.get("death") and turn.cue("amount_words") and not _has_new_figure(turn) \
            and not turn.cue("allowance_words") and not turn.cue("stay_words") and not any(
                w in turn.norm for w in ("伤残", "住院")):
        # 阿公坐班车出事 人无了 … 这样能赔几多: the death told, on that transport
        kind = notes.get("transport")
        return answer_transport(turn, str(kind)) if kind else answer_death(turn)
    if transport and (follow or died(turn) or turn.cue("amount_words") or turn.cue("death_words")):
        frame = turn.state.frame
        condoled = turn.state.last.get("condoled") or (frame is not None and frame.data.get("condoled"))
        if died(turn) and not condoled:  # 阿妈坐公交车跋倒…前日过身了: sorrow before the sum
            turn.say("condolence")
            turn.state.last["condoled"] = True
        told = answer_transport(turn, str(transport))
        for kind, words in (turn.copy.table("transport_kind_words") or {}).items():
            if kind != transport and any(w in turn.norm for w in words):
                answer_transport(turn, str(kind))  # 那坐船呢 坐飞机呢: each kind asked
        return told
    if turn.cue("death_words") and turn.cue("hypothetical_words") and follow:
        return answer_death(turn)
    return False


def _has_new_figure(turn: Turn) -> bool:
    """True when the message brings a figure of its own (not the one just answered)."""
    slots = turn.pred.slots or {}
    last = turn.state.last.get("amount") or {}
    new_days = slots.get("days") and slots.get("days") != last.get("days")
    return bool(new_days or turn.fact("disability_grade") or turn.fact("days_used_this_year"))


def _stay_told(turn: Turn) -> bool:
    """True when the message is about days in hospital (the allowance), not about the grade."""
    return bool((turn.pred.slots or {}).get("days") or turn.cue("stay_words") or turn.cue("allowance_words"))


def _remember(turn: Turn, **values: Any) -> None:
    turn.state.last["amount"] = values


def _check(turn: Turn) -> None:
    turn.say("amt_check")


def stay_sum(turn: Turn, days: int) -> bool:
    """The allowance a stay of ``days`` brings, with its limits (said when a report of it is filed)."""
    return _allowance(turn, days, 1)


def _allowance(turn: Turn, days: int, stays: int) -> bool:
    ha = turn.product.benefits.hospital_allowance
    start = turn.today
    total = 0
    used = 0
    for _ in range(max(1, min(stays, 9))):
        end = start + dt.timedelta(days=days - 1)
        result = hospital_allowance(turn.product, admission=start, discharge=end, paid_days_this_year=used)
        total += result.total_fen
        used += result.total_fen // (ha.per_day_yuan * 100)
    values = {"days": days, "per_day": ha.per_day_yuan, "cap": ha.max_days_per_stay,
              "year_cap": ha.max_days_per_year, "amount": _yuan(total), "paid_days": used, "stays": stays}
    if stays > 1:
        turn.say("amt_allowance_stays", **values)
    else:
        turn.say("amt_allowance", **values)
        if days > ha.max_days_per_stay:
            turn.say("amt_stay_cap", **values)
    turn.say("amt_hospital_rule", requirement=ha.hospital_requirement)
    _check(turn)
    _remember(turn, kind="allowance", **values)
    return True


def _stay_list(turn: Turn) -> list[int]:
    """The lengths of several stays told in this message or kept from an earlier one."""
    kept = turn.state.notes.get("stay_list") or []  # memory.py keeps them
    return [int(d) for d in kept] if turn.cue("sum_words") or "stay_list" in turn.noted else []


def _allowance_list(turn: Turn, stays: list[int]) -> bool:
    """Stays of different lengths: each counted up to the cap per stay, all up to the cap per year."""
    ha = turn.product.benefits.hospital_allowance
    counted: list[str] = []
    used = total = 0
    start = turn.today
    for days in stays[:9]:
        end = start + dt.timedelta(days=days - 1)
        result = hospital_allowance(turn.product, admission=start, discharge=end, paid_days_this_year=used)
        paid = result.total_fen // (ha.per_day_yuan * 100)
        counted.append(turn.copy.t("amt_stay_counted", n=len(counted) + 1, days=days, paid=paid))
        used += paid
        total += result.total_fen
    turn.say("amt_allowance_list", stays="；".join(counted), cap=ha.max_days_per_stay,
             year_cap=ha.max_days_per_year, per_day=ha.per_day_yuan, paid_days=used, amount=_yuan(total))
    turn.say("amt_hospital_rule", requirement=ha.hospital_requirement)
    _check(turn)
    _remember(turn, kind="allowance", days=sum(stays), per_day=ha.per_day_yuan, cap=ha.max_days_per_stay,
              year_cap=ha.max_days_per_year, amount=_yuan(total), paid_days=used, stays=len(stays))
    return True


def _year_left(turn: Turn, used: int) -> bool:
    ha = turn.product.benefits.hospital_allowance
    left = max(0, ha.max_days_per_year - used)
    start = turn.today
    end = start + dt.timedelta(days=max(0, min(left, ha.max_days_per_stay) - 1))
    result = hospital_allowance(turn.product, admission=start, discharge=end, paid_days_this_year=used)
    amount = result.total_fen if left else 0
    values = {"used": used, "year_cap": ha.max_days_per_year, "left": left, "amount": _yuan(amount),
              "per_day": ha.per_day_yuan, "cap": ha.max_days_per_stay}
    turn.say("amt_year_left" if left else "amt_year_none", **values)
    _check(turn)
    _remember(turn, kind="year_left", **values)
    return True


def _disability(turn: Turn, grade: int) -> bool:
    try:
        result = disability_benefit(turn.product, grade=grade)
    except ServiceError:
        turn.say("amt_bad_grade")
        return True
    dis = turn.product.benefits.disability
    values = {"grade": grade, "amount": _yuan(result.total_fen), "sum": dis.sum_insured_yuan,
              "percent": dis.grade_percent[grade]}
    again = (turn.state.last.get("amount") or {}) == {"kind": "disability", **values}
    turn.say("amt_disability", **values)
    if not again:  # asked again right after: the sum alone, not the same block twice
        turn.say("amt_disability_rule")
    _check(turn)
    _remember(turn, kind="disability", **values)
    return True


def answer_transport(turn: Turn, kind: str) -> bool:
    """The death benefit on operating transport of this kind, with the proof to keep."""
    try:
        result = transport_death_benefit(turn.product, kind=kind)
        benefit = turn.product.benefits.transport(kind)
    except (ServiceError, KeyError):
        return False
    values = {"label": benefit.label, "amount": _yuan(result.total_fen), "proof": "、".join(benefit.proof),
              "death": turn.product.benefits.accidental_death.amount_yuan}
    turn.say("amt_transport", **values)
    _check(turn)
    _remember(turn, kind="transport", **values)
    return True


def answer_death(turn: Turn) -> bool:
    """The accidental death benefit."""
    amount = turn.product.benefits.accidental_death.amount_yuan
    turn.say("amt_death", amount=amount)
    _check(turn)
    _remember(turn, kind="death", amount=amount)
    return True


def _explain(turn: Turn, last: dict[str, Any]) -> bool:
    kind = last.get("kind")
    if kind == "allowance":
        turn.say("amt_why_allowance", **{k: last[k] for k in ("cap", "per_day", "year_cap")},
                 amount=last["amount"], days=last["days"], paid_days=last["paid_days"])
    elif kind == "year_left":
        turn.say("amt_why_year", **{k: last[k] for k in ("used", "year_cap", "left")})
    elif kind == "disability":
        turn.say("amt_why_disability", **{k: last[k] for k in ("grade", "sum", "percent", "amount")})
    else:
        return False
    return True
