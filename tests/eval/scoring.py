"""Checks of one evaluated conversation against its expected outcome (see ``docs/evaluation.md``)."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

from config.settings import CONFIG_DIR
from tests.eval.records import Records

DEATH_TYPES = {"accidental_death", "transport_death"}
_EXACT = ("insured_name", "id_number", "phone", "relation", "accident_type", "accident_date")


@cache
def _t2s() -> dict[int, str]:
    """Traditional → simplified characters (the NLU's own table), so 醫院 matches 医院."""
    lines = (CONFIG_DIR / "nlu" / "t2s_chars.txt").read_text(encoding="utf-8").splitlines()
    return {ord(line[0]): line[1] for line in lines if len(line) >= 2 and not line.startswith("#")}


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().translate(_t2s())
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 30,000 → 30000
    return re.sub(r"\s+", "", text)


def _claim_mismatches(expected: dict[str, Any], claim: dict[str, Any]) -> list[str]:
    bad = []
    for key, want in expected.items():
        if key == "died":
            if bool(want) != (claim["claim_type"] in DEATH_TYPES):
                bad.append(f"died={want} but claim_type={claim['claim_type']}")
        elif key == "transport":
            if want and claim["claim_type"] in DEATH_TYPES and claim["claim_type"] != "transport_death":
                bad.append(f"transport death recorded as {claim['claim_type']}")
            if not want and claim["claim_type"] == "transport_death":
                bad.append("a death not on public transport recorded as transport_death")
        elif key == "hospital":
            got, exp = _norm(claim.get("hospital", "")), _norm(str(want))
            if not got or (exp not in got and got not in exp):
                bad.append(f"hospital {claim.get('hospital')!r} ≠ {want!r}")
        elif key in _EXACT and _norm(str(claim.get(key, ""))) != _norm(str(want)):
            bad.append(f"{key} {claim.get(key)!r} ≠ {want!r}")
    return bad


def check(expect: dict[str, Any], replies: list[str], records: Records) -> list[str]:
    """What went wrong (empty when the conversation reached its expected outcome)."""
    failures: list[str] = []
    outcome = expect.get("outcome", "answer")
    said = _norm("\n".join(replies))
    real_handoffs = [h for h in records.handoffs if h["reason"] != "info_update"]
    if outcome == "claim_report":
        if not records.claims:
            failures.append("no claim was created")
        elif expect.get("claim"):
            best = min((_claim_mismatches(expect["claim"], c) for c in records.claims), key=len)
            failures.extend(best)
    elif outcome == "complaint":
        if not records.complaints:
            failures.append("no complaint was created")
        elif (phone := (expect.get("complaint") or {}).get("callback_phone")) and not any(
                _norm(c["callback_phone"]) == _norm(str(phone)) for c in records.complaints):
            got = [c["callback_phone"] for c in records.complaints]
            failures.append(f"complaint callback {got} ≠ {phone}")
    elif outcome == "home_visit":
        if not records.visits:
            failures.append("no home visit was booked")
        elif (phone := (expect.get("home_visit") or {}).get("phone")) and not any(
                _norm(v["phone"]) == _norm(str(phone)) for v in records.visits):
            failures.append(f"home visit phone {[v['phone'] for v in records.visits]} ≠ {phone}")
    elif outcome == "handoff":
        if not real_handoffs:
            failures.append("no handoff to a person")
    elif outcome == "info_update" and not any(h["reason"] == "info_update" for h in records.handoffs):
        failures.append("no info update request for staff")
    if expect.get("handoff") is True and not real_handoffs:
        failures.append("expected a handoff to a person")
    if expect.get("handoff") is False and real_handoffs:
        failures.append(f"unexpected handoff ({real_handoffs[0]['reason']})")
    for group in expect.get("must_say") or []:
        options = group if isinstance(group, list) else [group]
        if not any(_norm(str(o)) in said for o in options):
            failures.append(f"never said any of {options}")
    stored = [_norm(t) for t in records.stored_texts()]
    for bad in expect.get("must_not_store") or []:
        if any(_stored(_norm(str(bad)), s) for s in stored if s):
            failures.append(f"stored {bad!r} in a field")
    return failures


def _stored(bad: str, value: str) -> bool:
    """``bad`` is held in ``value``: a number only as a whole number (the tail 2291 of a phone number sent
    in two pieces is not stored when the whole number 18666302291 is), words anywhere in it."""
    if bad.isdigit():
        return re.search(rf"(?<!\d){bad}(?!\d)", value) is not None
    return bad in value
