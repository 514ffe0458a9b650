"""D-01..D-07 through the mini-program API."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text

from backend.accounts.models import CustomerAccount
from backend.claims.models import ClaimAttachment
from tests.backend.storage import images
from tests.miniprogram_api.conftest import API, MP, new_id
from tests.support.fake_wechat import CANARY_SESSION_KEY
from tests.support.pii import find_pii


def test_d01_private_values_are_encrypted_in_the_database_and_on_disk(mp: MP) -> None:
    headers = mp.login("o-d01")
    mp.client.post(
        f"{API}/auth/phone", headers=headers, json={"code": mp.fake.issue_phone_code("13912345678")}
    )
    number = mp.person("陈阿婆")
    insured = mp.bind(headers, name="陈阿婆", id_number=number)
    claim = mp.report(headers, insured, description="摔倒了，电话13912345678").json()
    secret = b"13912345678 " * 500
    up = mp.client.post(
        f"{API}/claims/{claim['id']}/attachments",
        headers={**headers, "Idempotency-Key": "d01-file"},
        files={"file": ("a.pdf", images.minimal_pdf() + secret + b"\n%%EOF\n", "application/pdf")},
    )
    assert up.status_code == 201
    dump = []
    for table in (
        "customer_accounts",
        "delegations",
        "claims",
        "claim_events",
        "claim_attachments",
        "idempotency_keys",
        "consent_events",
    ):
        for row in mp.db.execute(text(f"SELECT * FROM {table}")):
            dump.append(" ".join(str(v) for v in row))
    blob = "\n".join(dump)
    assert number not in blob and "13912345678" not in blob and CANARY_SESSION_KEY not in blob
    row = mp.db.scalar(select(ClaimAttachment).where(ClaimAttachment.id == up.json()["id"]))
    assert row is not None and row.storage_key
    raw = mp.runtime.file_store.path_of(row.storage_key).read_bytes()  # type: ignore[attr-defined]
    assert b"13912345678" not in raw and b"%PDF" not in raw


def test_d02_errors_never_echo_what_was_typed(mp: MP) -> None:
    headers = mp.login()
    bad = "44051419530101123" + "5"  # wrong check digit
    r = mp.client.post(
        f"{API}/insured", headers=headers, json={"name": "陈阿婆", "id_number": bad, "relation": "parent"}
    )
    assert r.status_code == 400 and bad not in r.text
    r = mp.client.post(
        f"{API}/complaints",
        headers={**headers, "Idempotency-Key": "d02-complaint"},
        json={"category": "nope", "content": "13912345678", "name": "甲", "phone": "13912345678"},
    )
    assert r.status_code == 422 and "13912345678" not in r.text and find_pii(r.text) == []


def test_d03_id_number_checks_and_normalisation(mp: MP) -> None:
    headers = mp.login()
    good = mp.person("陈阿婆", new_id())
    for bad, reason in ((good[:-1] + ("0" if good[-1] != "0" else "1"), "id_checksum"), ("12345", None)):
        r = mp.client.post(
            f"{API}/insured", headers=headers, json={"name": "陈阿婆", "id_number": bad, "relation": "parent"}
        )
        assert r.status_code in (400, 422), r.text
        if reason and r.status_code == 400:
            assert r.json()["error"]["code"] == "invalid_id_number"


def test_d04_no_id_number_without_consent_and_withdrawal_stops_the_next_step(mp: MP) -> None:
    headers = mp.login(consent=False)
    number = mp.person("陈阿婆")
    body = {"name": "陈阿婆", "id_number": number, "relation": "parent"}
    r = mp.client.post(f"{API}/insured", headers=headers, json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "privacy_notice_required"
    mp.accept_all(headers)
    insured = mp.client.post(f"{API}/insured", headers=headers, json=body).json()["id"]
    claim = mp.report(headers, insured).json()
    # Withdraw the medical consent: the next upload of a medical document is refused, nothing stored.
    r = mp.client.put(f"{API}/consents/medical", headers=headers, json={"granted": False, "version": "x"})
    assert (
        r.status_code == 200
        and not next(c for c in r.json()["consents"] if c["category"] == "medical")["granted"]
    )
    up = mp.client.post(
        f"{API}/claims/{claim['id']}/attachments",
        headers={**headers, "Idempotency-Key": "d04-upload"},
        files={"file": ("a.jpg", images.jpeg(), "image/jpeg")},
    )
    assert up.status_code == 403 and up.json()["error"]["code"] == "consent_required"
    assert not [p for p in (mp.runtime.settings.var_dir / "files").rglob("*") if p.is_file()]
    # Withdraw the ID-number consent: no new report.
    mp.client.put(f"{API}/consents/id_number", headers=headers, json={"granted": False, "version": "x"})
    r = mp.report(headers, insured)
    assert r.status_code == 403 and r.json()["error"]["code"] == "consent_required"
    # An outdated consent text cannot be agreed to.
    r = mp.client.put(f"{API}/consents/id_number", headers=headers, json={"granted": True, "version": "old"})
    assert r.status_code == 400


def test_d05_a_withdrawn_claim_is_frozen(mp: MP) -> None:
    headers, claim = mp.claim()
    r = mp.client.post(f"{API}/claims/{claim['id']}/withdraw", headers=headers, json={"reason": "不用赔了"})
    assert r.status_code == 200 and r.json()["stage"] == "withdrawn" and r.json()["can_withdraw"] is False
    assert r.json()["timeline"][-1]["detail"] == "不用赔了"
    up = mp.client.post(
        f"{API}/claims/{claim['id']}/attachments",
        headers={**headers, "Idempotency-Key": "d05-upload"},
        files={"file": ("a.jpg", images.jpeg(), "image/jpeg")},
    )
    assert up.status_code == 409 and up.json()["error"]["code"] == "record_frozen"
    again = mp.client.post(f"{API}/claims/{claim['id']}/withdraw", headers=headers, json={"reason": "再撤"})
    assert again.status_code == 409


def test_d06_a_customer_gets_all_of_their_data_and_nothing_of_others(mp: MP) -> None:
    a, claim_a = mp.claim()
    b, claim_b = mp.claim()
    for headers, mine, theirs in ((a, claim_a, claim_b), (b, claim_b, claim_a)):
        items = mp.client.get(f"{API}/claims", headers=headers).json()["items"]
        assert [i["id"] for i in items] == [mine["id"]]
        me = mp.client.get(f"{API}/me", headers=headers).json()
        assert len(me["insured"]) == 1 and theirs["case_no"] not in str(me)


def test_d07_no_private_value_is_kept_in_redis(mp: MP) -> None:
    headers = mp.login("o-d07")
    mp.client.post(
        f"{API}/auth/phone", headers=headers, json={"code": mp.fake.issue_phone_code("13912345678")}
    )
    number = mp.person("陈阿婆")
    mp.report(headers, mp.bind(headers, name="陈阿婆", id_number=number))
    r = mp.runtime.redis
    everything = []
    for key in r.scan_iter("*"):
        everything.append(key.decode())
        if r.type(key) == b"string":
            everything.append((r.get(key) or b"").decode("utf-8", "replace"))
    blob = "\n".join(everything)
    assert everything and number not in blob and "13912345678" not in blob and CANARY_SESSION_KEY not in blob
    account = mp.db.scalar(select(CustomerAccount).where(CustomerAccount.openid == "o-d07"))
    assert account is not None
    token = headers["Authorization"].split()[1]
    assert token not in blob  # only its hash is stored


def test_customer_gets_a_clear_error_for_every_bad_input(mp: MP) -> None:
    headers = mp.login()
    insured = mp.bind(headers)
    for overrides, code in (
        ({"accident_date": "2999-01-01"}, "invalid_input"),
        ({"reporter_phone": "12345"}, "invalid_phone"),
        ({"claim_type": "pet_insurance"}, "invalid_request"),
    ):
        r = mp.report(headers, insured, key=uuid.uuid4().hex, **overrides)
        assert r.status_code in (400, 422), r.text
        err = r.json()["error"]
        assert err["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in err["message"])
    assert mp.client.get(f"{API}/claims", headers=headers).json()["items"] == []
