"""D-06: the customer's own requests (PIPL Art. 44–50) through the mini-program: a copy of all their
data and nothing of anyone else's, correcting a claim's contact phone, and deleting the account."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from backend.accounts.models import CustomerAccount, Delegation
from backend.audit.models import AuditRecord
from backend.claims.models import PURPOSE_REPORTER_PHONE, Claim
from backend.privacy.service import has_consent, privacy_notice_accepted
from tests.backend.storage import images
from tests.miniprogram_api.conftest import API, MP
from tests.support.pii import find_pii


def _customer(mp: MP, *, openid: str, words: str, phone: str) -> tuple[dict[str, str], dict[str, Any]]:
    """A customer with a claim (and a file), a complaint, a home visit and notification choices."""
    headers = mp.login(openid)
    claim = mp.report(headers, mp.bind(headers), description=words, reporter_phone=phone).json()
    key = uuid.uuid4().hex
    up = mp.client.post(
        f"{API}/claims/{claim['id']}/attachments",
        headers={**headers, "Idempotency-Key": key},
        files={"file": ("a.jpg", images.jpeg(), "image/jpeg")},
    )
    assert up.status_code == 201, up.text
    complaint = mp.client.post(
        f"{API}/complaints",
        headers={**headers, "Idempotency-Key": key + "c"},
        json={"category": "claim_speed", "content": f"{words}，太慢", "name": "陈小明", "phone": phone},
    ).json()
    visit = mp.client.post(
        f"{API}/visits",
        headers={**headers, "Idempotency-Key": key + "v"},
        json={"name": "陈阿婆", "phone": phone, "address": "峡山街道", "purpose": f"{words}，收材料"},
    ).json()
    mp.client.post(
        f"{API}/notifications/subscriptions",
        headers={**headers, "Idempotency-Key": key + "s"},
        json={"results": [{"template_id": f"tpl-{openid}", "status": "accept"}]},
    )
    mp.client.put(f"{API}/notifications/preferences", headers=headers, json={"sms": False})
    said = mp.client.post(
        f"{API}/chat/messages",
        headers={**headers, "Idempotency-Key": key + "m"},
        json={"text": f"{words}怎么报案"},
    )
    assert said.status_code == 200, said.text
    return headers, {"claim": claim, "complaint": complaint, "visit": visit, "file": up.json()}


def test_d06_the_copy_holds_all_of_one_customers_data_and_nothing_of_others(mp: MP) -> None:
    a, mine = _customer(mp, openid="o-d06-a", words="甲在菜市场滑倒", phone="13800138000")
    b, theirs = _customer(mp, openid="o-d06-b", words="乙被自行车撞了", phone="13912345678")
    r = mp.client.get(f"{API}/me/data", headers=a)
    assert r.status_code == 200, r.text
    data = r.json()
    [claim] = data["claims"]
    assert claim["case_no"] == mine["claim"]["case_no"] and claim["description"] == "甲在菜市场滑倒"
    assert [f["id"] for f in claim["attachments"]] == [mine["file"]["id"]]
    assert [c["complaint_no"] for c in data["complaints"]] == [mine["complaint"]["complaint_no"]]
    assert [v["visit_no"] for v in data["visits"]] == [mine["visit"]["visit_no"]]
    assert [s["template_id"] for s in data["subscriptions"]] == ["tpl-o-d06-a"]
    assert data["preferences"] == {"wechat": True, "sms": False}
    said = [line["text"] for line in data["chat"] if line["role"] == "customer"]
    assert said == ["甲在菜市场滑倒怎么报案"] and any(line["role"] == "bot" for line in data["chat"])
    assert (
        len(data["insured"]) == 1
        and data["account"]["account_id"] == mp.client.get(f"{API}/me", headers=a).json()["account_id"]
    )
    assert {"privacy_notice", "id_number", "medical", "bank_account"} <= {
        c["category"] for c in data["consents"]
    }
    # Nothing of B's, and no full private number (they are masked).
    for value in (
        theirs["claim"]["case_no"],
        theirs["complaint"]["complaint_no"],
        theirs["visit"]["visit_no"],
        "乙被自行车撞了",
        "tpl-o-d06-b",
    ):
        assert value not in r.text
    assert find_pii(r.text) == []
    # The copy is in the audit log, with who asked.
    rows = mp.db.scalars(select(AuditRecord).where(AuditRecord.action == "export")).all()
    assert [(x.actor, x.object_type) for x in rows] == [("customer:o-d06-a", "customer_account")]
    # B's copy is B's.
    other = mp.client.get(f"{API}/me/data", headers=b).json()
    assert [c["case_no"] for c in other["claims"]] == [theirs["claim"]["case_no"]]


def test_d06_correcting_the_contact_phone_of_an_open_claim(mp: MP) -> None:
    headers, claim = mp.claim()
    url = f"{API}/claims/{claim['id']}/contact-phone"
    r = mp.client.put(url, headers=headers, json={"phone": "13912345678"})
    assert r.status_code == 200, r.text
    assert r.json()["claim_id"] == claim["id"]
    row = mp.db.get(Claim, claim["id"])
    assert row is not None
    mp.db.refresh(row)
    assert mp.runtime.cipher.decrypt(row.reporter_phone_enc, purpose=PURPOSE_REPORTER_PHONE) == "13912345678"
    bad = mp.client.put(url, headers=headers, json={"phone": "12345"})
    assert bad.status_code == 400 and "12345" not in bad.text
    assert mp.client.put(url, headers=mp.login(), json={"phone": "13700000000"}).status_code == 404
    mp.client.post(f"{API}/claims/{claim['id']}/withdraw", headers=headers, json={"reason": "不用了"})
    closed = mp.client.put(url, headers=headers, json={"phone": "13700000000"})
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "claim_closed"


def test_d06_deleting_the_account_removes_it_and_keeps_only_what_the_law_requires(mp: MP) -> None:
    a, mine = _customer(mp, openid="o-d06-del", words="甲摔倒", phone="13800138000")
    b, theirs = _customer(mp, openid="o-d06-keep", words="乙摔倒", phone="13912345678")
    mp.client.post(f"{API}/auth/phone", headers=a, json={"code": mp.fake.issue_phone_code("13812345678")})
    account_id = mp.client.get(f"{API}/me", headers=a).json()["account_id"]
    r = mp.client.delete(f"{API}/me", headers=a)
    assert r.status_code == 200, r.text
    assert "手机号" in r.json()["deleted"] and "绑定的被保险人" in r.json()["deleted"]
    assert any("保险法" in k["why"] for k in r.json()["kept"])
    # Logged out, the account and its bindings gone, the consents withdrawn, the choices forgotten.
    assert mp.client.get(f"{API}/me", headers=a).status_code == 401
    mp.db.expire_all()
    assert mp.db.get(CustomerAccount, account_id) is None
    assert (
        mp.db.scalar(select(func.count()).select_from(Delegation).where(Delegation.account_id == account_id))
        == 0
    )
    for category in ("id_number", "medical", "bank_account"):
        assert not has_consent(mp.db, category=category, channel="mini_program", user_id="o-d06-del")
    # The claim is kept (legal retention); the same person logging in again starts with an empty account.
    assert mp.db.get(Claim, mine["claim"]["id"]) is not None
    again = mp.login("o-d06-del", consent=False)
    # The privacy notice accepted before the erasure no longer counts: it is asked again.
    assert privacy_notice_accepted(mp.db, channel="mini_program", user_id="o-d06-del") is None
    me = mp.client.get(f"{API}/me", headers=again).json()
    assert me["account_id"] != account_id and me["insured"] == [] and me["phone_masked"] is None
    assert mp.client.get(f"{API}/notifications/subscriptions", headers=again).json()["items"] == []
    # The other customer is untouched.
    assert mp.client.get(f"{API}/claims/{theirs['claim']['id']}", headers=b).status_code == 200
    assert len(mp.client.get(f"{API}/me", headers=b).json()["insured"]) == 1
    erased = mp.db.scalars(select(AuditRecord).where(AuditRecord.action == "erase")).all()
    assert [x.object_id for x in erased] == [str(account_id)]
