"""M-04: a customer never reads or changes another customer's data (404, not 403); delegations; mass
assignment is ignored."""

from __future__ import annotations

import uuid
from typing import Any

from tests.backend.storage import images
from tests.miniprogram_api.conftest import API, MP


def _others_things(mp: MP) -> dict[str, Any]:
    """Customer B with a claim, an attachment, a complaint, a visit, a binding and a delegate."""
    b, claim = mp.claim()
    up = mp.client.post(
        f"{API}/claims/{claim['id']}/attachments",
        headers={**b, "Idempotency-Key": "b-up-0001"},
        files={"file": ("a.jpg", images.jpeg(), "image/jpeg")},
    )
    assert up.status_code == 201, up.text
    c = mp.client.post(
        f"{API}/complaints",
        headers={**b, "Idempotency-Key": "b-complaint-1"},
        json={"category": "other", "content": "态度不好", "name": "陈小明", "phone": "13800138000"},
    )
    v = mp.client.post(
        f"{API}/visits",
        headers={**b, "Idempotency-Key": "b-visit-0001"},
        json={"name": "陈阿婆", "phone": "13800138000", "address": "峡山", "purpose": "收材料"},
    )
    assert c.status_code == 201 and v.status_code == 201
    insured = mp.client.get(f"{API}/insured", headers=b).json()["items"][0]["id"]
    return {
        "headers": b,
        "claim": claim["id"],
        "attachment": up.json()["id"],
        "complaint": c.json()["id"],
        "visit": v.json()["id"],
        "insured": insured,
    }


def test_m04_every_endpoint_with_an_id_answers_404_for_another_customers_data(mp: MP) -> None:
    b = _others_things(mp)
    a = mp.login()
    mp.bind(a)  # A has data of their own too
    k = {"Idempotency-Key": "a-try-0001"}
    calls = [
        ("GET", f"/claims/{b['claim']}", None),
        ("POST", f"/claims/{b['claim']}/withdraw", {"reason": "不要了"}),
        ("PUT", f"/claims/{b['claim']}/contact-phone", {"phone": "13700000000"}),
        ("GET", f"/claims/{b['claim']}/attachments", None),
        ("GET", f"/claims/{b['claim']}/attachments/{b['attachment']}/content", None),
        ("GET", f"/complaints/{b['complaint']}", None),
        ("POST", f"/complaints/{b['complaint']}/rating", {"rating": 1}),
        ("GET", f"/visits/{b['visit']}", None),
        ("POST", f"/visits/{b['visit']}/cancel", {"reason": "不要了"}),
        ("DELETE", f"/insured/{b['insured']}", None),
        ("PUT", f"/delegates/{b['insured']}", {"scope": "all"}),
        ("DELETE", f"/delegates/{b['insured']}", None),
        (
            "POST",
            "/claims",
            {
                "insured_id": b["insured"],
                "claim_type": "hospital_allowance",
                "accident_type": "fall",
                "accident_date": "2026-01-05",
                "description": "摔倒",
                "reporter_phone": "13800138000",
            },
        ),
        (
            "POST",
            "/complaints",
            {
                "category": "other",
                "content": "x",
                "name": "甲",
                "phone": "13800138000",
                "claim_id": b["claim"],
            },
        ),
        (
            "POST",
            "/visits",
            {"name": "甲", "phone": "13800138000", "address": "x", "purpose": "x", "claim_id": b["claim"]},
        ),
    ]
    for method, path, body in calls:
        r = mp.client.request(method, API + path, headers={**a, **k}, json=body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"]["message"]
    up = mp.client.post(
        f"{API}/claims/{b['claim']}/attachments",
        headers={**a, **k},
        files={"file": ("a.jpg", images.jpeg(), "image/jpeg")},
    )
    assert up.status_code == 404
    # A's lists hold none of B's things; B's things are untouched.
    for path, key in (("/claims", "id"), ("/complaints", "id"), ("/visits", "id")):
        assert all(
            i[key] not in (b["claim"], b["complaint"], b["visit"])
            for i in mp.client.get(API + path, headers=a).json()["items"]
        )
    assert mp.client.get(f"{API}/claims/{b['claim']}", headers=b["headers"]).json()["stage"] == "reported"
    assert mp.client.get(f"{API}/visits/{b['visit']}", headers=b["headers"]).json()["state"] == "requested"
    assert len(mp.client.get(f"{API}/insured", headers=b["headers"]).json()["items"]) == 1


def test_m04_an_unknown_id_and_another_customers_id_look_the_same(mp: MP) -> None:
    b = _others_things(mp)
    a = mp.login()
    mine = mp.client.get(f"{API}/claims/{b['claim']}", headers=a).json()
    missing = mp.client.get(f"{API}/claims/{2**31 - 1}", headers=a).json()
    assert mine == missing


def test_m04_mass_assignment_of_status_amount_and_owner_is_ignored(mp: MP) -> None:
    headers = mp.login()
    other = mp.login()
    insured = mp.bind(headers)
    r = mp.report(
        headers,
        insured,
        state="paid",
        stage="paid",
        approved_amount_fen=9_999_999,
        paid_yuan="99999",
        owner_id=1,
        reporter_openid="o-someone-else",
        account_id=999,
        version=77,
        case_no="LP00000000000",
    )
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["stage"] == "reported" and claim["approved_yuan"] is None and claim["paid_yuan"] is None
    assert claim["version"] == 1 and claim["case_no"] != "LP00000000000"
    assert mp.client.get(f"{API}/claims/{claim['id']}", headers=headers).status_code == 200
    assert mp.client.get(f"{API}/claims/{claim['id']}", headers=other).status_code == 404


def test_m04_family_member_sees_only_what_they_reported_until_the_insured_grants_more(mp: MP) -> None:
    number = mp.person("林阿公")
    insured = mp.login()
    mp.bind(insured, name="林阿公", id_number=number, relation="self")
    daughter, son = mp.login(), mp.login()
    d_id = mp.bind(daughter, name="林阿公", id_number=number, relation="child")
    s_id = mp.bind(son, name="林阿公", id_number=number, relation="child")
    by_daughter = mp.report(daughter, d_id).json()
    by_son = mp.report(son, s_id).json()
    seen = {c["id"] for c in mp.client.get(f"{API}/claims", headers=daughter).json()["items"]}
    assert seen == {by_daughter["id"]}
    assert mp.client.get(f"{API}/claims/{by_son['id']}", headers=daughter).status_code == 404
    # The insured sees both and who acts for them, and lets the daughter see everything.
    assert {c["id"] for c in mp.client.get(f"{API}/claims", headers=insured).json()["items"]} == {
        by_daughter["id"],
        by_son["id"],
    }
    delegates = mp.client.get(f"{API}/delegates", headers=insured).json()["items"]
    assert len(delegates) == 2
    daughter_delegate = next(d for d in delegates if d["id"] == d_id)
    r = mp.client.put(f"{API}/delegates/{daughter_delegate['id']}", headers=insured, json={"scope": "all"})
    assert r.status_code == 200 and r.json()["scope"] == "all"
    assert mp.client.get(f"{API}/claims/{by_son['id']}", headers=daughter).status_code == 200
    # A family member who did not report it may see it but not withdraw it.
    r = mp.client.post(f"{API}/claims/{by_son['id']}/withdraw", headers=daughter, json={"reason": "不要了"})
    assert r.status_code == 403
    # The insured removes the son: he can no longer report for the insured.
    assert mp.client.delete(f"{API}/delegates/{s_id}", headers=insured).status_code == 200
    assert mp.report(son, s_id).status_code == 404


def test_m04_reporting_needs_a_delegation_proven_by_name_and_id(mp: MP) -> None:
    headers = mp.login()
    number = mp.person("陈阿婆")
    for name, id_number in (("陈阿公", number), ("陈阿婆", mp.person("别人"))):
        r = mp.client.post(
            f"{API}/insured",
            headers=headers,
            json={"name": name, "id_number": id_number, "relation": "parent"},
        )
        assert r.status_code == 404 and r.json()["error"]["code"] == "insured_not_matched"
    assert mp.report(headers, 1).status_code == 404
    assert (
        mp.client.post(
            f"{API}/insured",
            headers=headers,
            json={"name": " 陈 阿婆", "id_number": number.lower(), "relation": "parent"},
        ).status_code
        == 201
    )


def test_unionid_links_the_official_account_and_the_mini_program(mp: MP) -> None:
    """A claim reported in the official account shows in the mini-program of the same person."""
    import datetime as dt

    from backend.accounts.service import link_identity
    from backend.claims.service import report_claim
    from backend.privacy.service import record_consent

    union = "u" + uuid.uuid4().hex[:20]
    link_identity(mp.db, channel="official_account", openid="o-oa-same", unionid=union)
    record_consent(
        mp.db,
        category="id_number",
        channel="official_account",
        actor="bot:official_account",
        user_id="o-oa-same",
    )
    claim = report_claim(
        mp.db,
        cipher=mp.runtime.cipher,
        catalog=mp.runtime.catalog,
        calendar=mp.runtime.calendar,
        product_id="chaonan-elderly-accident",
        claim_type="hospital_allowance",
        insured_name="陈阿婆",
        insured_id_number=mp.person("陈阿婆"),
        reporter_phone="13800138000",
        reporter_relation="parent",
        accident_date=dt.date.today(),
        accident_type="fall",
        description="摔倒",
        channel="official_account",
        actor="bot:official_account",
        reporter_openid="o-oa-same",
    )
    mp.db.commit()
    same = mp.login("o-mp-same", unionid=union)
    stranger = mp.login("o-mp-other", unionid="u-someone-else")
    assert mp.client.get(f"{API}/claims/{claim.id}", headers=same).status_code == 200
    assert mp.client.get(f"{API}/claims/{claim.id}", headers=stranger).status_code == 404
