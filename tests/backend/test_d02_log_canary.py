"""D-02: the log canary itself finds ID numbers, phones and cards (so its silence means something)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine

from tests.support.pii import PiiCanary, find_pii


def test_d02_detectors() -> None:
    assert find_pii("身份证 44051419530101123X 来电") == []  # wrong check digit: not an ID
    ID = "44051419530101" + "1236"
    from tests.support.pii import id_check_ok
    valid = next(ID[:17] + c for c in "0123456789X" if id_check_ok(ID[:17] + c))
    assert find_pii(f"id {valid}") == [("id_number", valid)]
    assert find_pii("电话13812345678。") == [("phone", "13812345678")]
    assert find_pii("卡号 6222021234567890128") == [("card", "6222021234567890128")]
    assert find_pii("MsgId 6054768590064713728 time 1409735668") == []


def test_d02_canary_catches_a_leaking_log_record() -> None:
    canary = PiiCanary()
    log = logging.getLogger("leaky")
    log.addHandler(canary)
    log.propagate = False  # keep this deliberate leak away from the suite-wide canary
    try:
        log.warning("calling %s about %s", "13812345678", "the claim")
        log.warning("nothing private here: %s", "138****5678")
    finally:
        log.removeHandler(canary)
        log.propagate = True
    assert canary.hits == ["leaky: phone 138…"]


def test_d02_canary_is_quiet_for_masked_values(caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("y").warning("phone %s", "138****5678")
    assert "138****5678" in caplog.text


def test_d02_hex_digests_are_not_phones() -> None:
    # A SHA-256 hex digest may contain a run of 11 digits; it is not a phone number.
    assert find_pii("hash=ab13812345678cd token=f6222021234567890128e") == []
    assert find_pii("call 13812345678, card 6222021234567890128.") == [
        ("phone", "13812345678"), ("card", "6222021234567890128")]


def test_d02_sql_parameters_never_logged_even_with_root_at_info(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A root logger at INFO (what `python -m backend` sets) must not make SQLAlchemy print parameters."""
    from sqlalchemy import text

    from backend.logs import configure_logging

    configure_logging(logging.INFO)
    with caplog.at_level(logging.INFO), engine.connect() as conn:
        conn.execute(text("SELECT :phone"), {"phone": "13812345678"})
    assert "13812345678" not in caplog.text
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
