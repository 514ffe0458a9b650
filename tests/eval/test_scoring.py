"""The dialogue evaluation's checks: each can fail, and passes only on the expected outcome."""

from __future__ import annotations

from tests.eval.records import Records
from tests.eval.scoring import check

CLAIM = {"claim_type": "hospital_allowance", "relation": "mother", "accident_type": "fall",
         "accident_date": "2026-12-02", "insured_name": "陈秀兰", "id_number": "44051419520304122X",
         "phone": "13812345678", "hospital": "潮南区人民医院", "place": ""}


def test_claim_fields_must_all_match() -> None:
    wanted = {"relation": "mother", "insured_name": "陳秀蘭", "hospital": "潮南區人民醫院",
              "accident_date": "2026-12-02"}
    expect = {"outcome": "claim_report", "claim": wanted}
    assert check(expect, [], Records(claims=[CLAIM])) == []
    wrong = {**CLAIM, "hospital": "峡山医院"}
    assert check(expect, [], Records(claims=[wrong])) == ["hospital '峡山医院' ≠ '潮南區人民醫院'"]
    assert check(expect, [], Records()) == ["no claim was created"]


def test_death_and_transport_are_read_from_the_claim_type() -> None:
    expect = {"outcome": "claim_report", "claim": {"died": True, "transport": "motor_vehicle"}}
    assert check(expect, [], Records(claims=[{**CLAIM, "claim_type": "transport_death"}])) == []
    failures = check(expect, [], Records(claims=[{**CLAIM, "claim_type": "accidental_death"}]))
    assert failures == ["transport death recorded as accidental_death"]
    assert check(expect, [], Records(claims=[CLAIM])) == [
        "died=True but claim_type=hospital_allowance"]
    not_transport = {"outcome": "claim_report", "claim": {"died": True, "transport": False}}
    assert check(not_transport, [], Records(claims=[{**CLAIM, "claim_type": "accidental_death"}])) == []
    assert check(not_transport, [], Records(claims=[{**CLAIM, "claim_type": "transport_death"}])) == [
        "a death not on public transport recorded as transport_death"]


def test_must_say_accepts_any_alternative_and_thousands_separators() -> None:
    expect = {"outcome": "answer", "must_say": [["30000", "3万"], ["120"]]}
    assert check(expect, ["身故赔30,000元", "请马上打１２０"], Records()) == []
    assert check(expect, ["身故赔3000元"], Records()) == [
        "never said any of ['30000', '3万']", "never said any of ['120']"]


def test_handoff_expectations_and_info_updates() -> None:
    handoff = {"reason": "asked", "status": "queued", "flow": None}
    update = {"reason": "info_update", "status": "queued", "flow": "info_update"}
    assert check({"outcome": "handoff"}, [], Records(handoffs=[handoff])) == []
    assert check({"outcome": "handoff"}, [], Records(handoffs=[update])) == ["no handoff to a person"]
    assert check({"outcome": "info_update", "handoff": False}, [], Records(handoffs=[update])) == []
    assert check({"outcome": "answer", "handoff": False}, [], Records(handoffs=[handoff])) == [
        "unexpected handoff (asked)"]


def test_complaint_callback_and_stored_garbage() -> None:
    complaint = {"complaint_no": "TS2612030001", "category": "service", "callback_phone": "13812345678",
                 "complainant_name": ""}
    expect = {"outcome": "complaint", "complaint": {"callback_phone": "138 1234 5678"},
              "must_not_store": ["流血了"]}
    assert check(expect, [], Records(complaints=[complaint])) == []
    bad = Records(complaints=[{**complaint, "callback_phone": "13900000000"}],
                  claims=[{**CLAIM, "insured_name": "流血了"}])
    assert check(expect, [], bad) == ["complaint callback ['13900000000'] ≠ 138 1234 5678",
                                      "stored '流血了' in a field"]


def test_a_number_in_must_not_store_counts_only_stored_whole() -> None:
    expect = {"outcome": "claim_report", "must_not_store": ["2291"]}
    whole = Records(claims=[{**CLAIM, "phone": "18666302291"}])
    assert check(expect, [], whole) == []
    piece = Records(claims=[{**CLAIM, "phone": "18666302291", "hospital": "2291"}])
    assert check(expect, [], piece) == ["stored '2291' in a field"]
