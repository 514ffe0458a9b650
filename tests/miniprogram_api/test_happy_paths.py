"""The plain path of the endpoints whose other tests are about errors, access and fuzzing: products and
the benefit estimate, home visits, rating a complaint, family delegates, consent withdrawal, channel
choices and logout."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from backend.complaints.service import transition_complaint
from tests.miniprogram_api.conftest import API, MP


def test_products_cover_faq_and_benefit_estimate(mp: MP) -> None:
    products = mp.client.get(f"{API}/products").json()["items"]
    default = next(p for p in products if p["default"])
    cover = mp.client.get(f"{API}/products/{default['id']}").json()
    assert (
        cover["id"] == default["id"]
        and cover["claim_types"]
        and cover["hospital_allowance_max_days_per_stay"] > 0
    )
    product = mp.runtime.catalog.get(default["id"])
    assert (
        Decimal(cover["hospital_allowance_per_day"]["amount_yuan"])
        == product.benefits.hospital_allowance.per_day_yuan
    )
    faq = mp.client.get(f"{API}/faq", params={"q": "住院了怎么赔"}).json()["items"]
    assert (
        faq and faq[0]["answer"] and all(faq[i]["score"] >= faq[i + 1]["score"] for i in range(len(faq) - 1))
    )
    # A 3-day stay: the allowance is the product's daily amount times the days it counts.
    url = f"{API}/products/{default['id']}/estimate"
    stay = mp.client.post(
        url, json={"benefit": "hospital_allowance", "admission": "2026-03-01", "discharge": "2026-03-04"}
    )
    assert stay.status_code == 200, stay.text
    per_day = Decimal(cover["hospital_allowance_per_day"]["amount_yuan"])
    days = 3 + (1 if product.benefits.hospital_allowance.day_count_rule == "inclusive" else 0)
    assert Decimal(stay.json()["total_yuan"]) == per_day * days and stay.json()["notes"]
    # A stay longer than the cap is paid for the cap only, and the note says so.
    cap = cover["hospital_allowance_max_days_per_stay"]
    long = mp.client.post(
        url,
        json={
            "benefit": "hospital_allowance",
            "admission": "2026-01-01",
            "discharge": (dt.date(2026, 1, 1) + dt.timedelta(days=cap + 5)).isoformat(),
        },
    ).json()
    assert Decimal(long["total_yuan"]) == per_day * cap and any(str(cap) in n for n in long["notes"])
    # Disability grade 10: the grade's share of the disability sum.
    grade = mp.client.post(url, json={"benefit": "disability", "grade": 10}).json()
    share = Decimal(cover["disability_percent_by_grade"]["10"]) / 100
    assert Decimal(grade["total_yuan"]) == Decimal(cover["disability_max"]["amount_yuan"]) * share


def test_book_see_and_cancel_a_home_visit(mp: MP) -> None:
    headers = mp.login()
    body = {"name": "陈阿婆", "phone": "13800138000", "address": "峡山街道某村12号", "purpose": "上门收材料"}
    made = mp.client.post(
        f"{API}/visits", headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, json=body
    )
    assert made.status_code == 201, made.text
    visit = made.json()
    assert visit["state"] == "requested" and visit["can_cancel"] is True
    assert visit["requested_at"] < visit["contact_due_at"] <= visit["visit_due_at"]
    assert [v["id"] for v in mp.client.get(f"{API}/visits", headers=headers).json()["items"]] == [visit["id"]]
    assert mp.client.get(f"{API}/visits/{visit['id']}", headers=headers).json() == visit
    r = mp.client.post(f"{API}/visits/{visit['id']}/cancel", headers=headers, json={"reason": "自己送过去了"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "cancelled" and r.json()["can_cancel"] is False and r.json()["cancelled_at"]
    again = mp.client.post(f"{API}/visits/{visit['id']}/cancel", headers=headers, json={"reason": "再取消"})
    assert again.status_code == 409


def test_rate_the_answer_to_a_complaint(mp: MP) -> None:
    headers = mp.login()
    body = {
        "category": "claim_speed",
        "content": "材料交了很久没消息",
        "name": "陈小明",
        "phone": "13800138000",
    }
    c = mp.client.post(
        f"{API}/complaints", headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, json=body
    )
    assert c.status_code == 201, c.text
    complaint = c.json()
    assert complaint["can_rate"] is False and complaint["content"] == "材料交了很久没消息"
    early = mp.client.post(f"{API}/complaints/{complaint['id']}/rating", headers=headers, json={"rating": 5})
    assert early.status_code == 409
    # Staff look into it and answer.
    for state, response in (("investigating", None), ("responded", "已经催办，三天内审核完")):
        transition_complaint(
            mp.db,
            cipher=mp.runtime.cipher,
            complaint_id=complaint["id"],
            to_state=state,
            actor="staff:1",
            response=response,
        )
    mp.db.commit()
    answered = mp.client.get(f"{API}/complaints/{complaint['id']}", headers=headers).json()
    assert answered["answer"] == "已经催办，三天内审核完" and answered["can_rate"] is True
    rated = mp.client.post(
        f"{API}/complaints/{complaint['id']}/rating", headers=headers, json={"rating": 4, "comment": "快了"}
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"] == 4 and rated.json()["can_rate"] is False
    twice = mp.client.post(f"{API}/complaints/{complaint['id']}/rating", headers=headers, json={"rating": 1})
    assert twice.status_code == 409
    assert mp.client.get(f"{API}/complaints", headers=headers).json()["items"][0]["rating"] == 4


def test_the_insured_sees_grants_and_removes_a_family_delegate(mp: MP) -> None:
    number = mp.person("陈阿婆")
    insured = mp.login()
    mp.bind(insured, id_number=number, relation="self")
    son = mp.login()
    son_binding = mp.bind(son, id_number=number, relation="child")
    assert mp.client.get(f"{API}/insured", headers=son).json()["items"][0]["scope"] == "reported"
    [delegate] = mp.client.get(f"{API}/delegates", headers=insured).json()["items"]
    assert delegate["relation"] == "child" and delegate["scope"] == "reported"
    r = mp.client.put(f"{API}/delegates/{delegate['id']}", headers=insured, json={"scope": "all"})
    assert r.status_code == 200 and r.json()["scope"] == "all"
    assert mp.client.get(f"{API}/insured", headers=son).json()["items"][0]["scope"] == "all"
    gone = mp.client.delete(f"{API}/delegates/{delegate['id']}", headers=insured)
    assert gone.status_code == 200 and gone.json()["items"] == []
    assert all(p["id"] != son_binding for p in mp.client.get(f"{API}/insured", headers=son).json()["items"])


def test_withdraw_and_give_again_one_consent(mp: MP) -> None:
    headers = mp.login()
    before = mp.client.get(f"{API}/consents", headers=headers).json()
    medical = next(c for c in before["consents"] if c["category"] == "medical")
    assert medical["granted"] is True and before["privacy_notice"]["accepted"] is True
    off = mp.client.put(
        f"{API}/consents/medical", headers=headers, json={"granted": False, "version": medical["version"]}
    )
    assert off.status_code == 200, off.text
    states = {c["category"]: c["granted"] for c in off.json()["consents"]}
    assert states == {"id_number": True, "medical": False, "bank_account": True}
    on = mp.client.put(
        f"{API}/consents/medical", headers=headers, json={"granted": True, "version": medical["version"]}
    )
    assert next(c for c in on.json()["consents"] if c["category"] == "medical")["granted"] is True


def test_channel_choices(mp: MP) -> None:
    headers = mp.login()
    url = f"{API}/notifications/preferences"
    assert mp.client.get(url, headers=headers).json() == {"wechat": True, "sms": True}
    assert mp.client.put(url, headers=headers, json={"sms": False}).json() == {"wechat": True, "sms": False}
    assert mp.client.put(url, headers=headers, json={"wechat": False}).json() == {
        "wechat": False,
        "sms": False,
    }
    assert mp.client.get(url, headers=headers).json() == {"wechat": False, "sms": False}
    assert mp.client.get(url, headers=mp.login()).json() == {"wechat": True, "sms": True}  # per customer


def test_logout_ends_only_that_session(mp: MP) -> None:
    openid = f"o{uuid.uuid4().hex[:20]}"
    phone, tablet = mp.login(openid, consent=False), mp.login(openid, consent=False)
    r = mp.client.post(f"{API}/auth/logout", headers=phone)
    assert r.status_code == 200 and r.json() == {"logged_out": True}
    assert mp.client.get(f"{API}/me", headers=phone).status_code == 401
    assert mp.client.get(f"{API}/me", headers=tablet).status_code == 200
