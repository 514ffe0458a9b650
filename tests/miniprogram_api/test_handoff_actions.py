"""A complaint an agent files from the console's chat reaches the customer's own list in the mini-program
(the same person on the official account and the mini-program, linked by unionid), with its deadlines."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.accounts.models import CustomerAccount
from backend.runtime import Runtime
from tests.backend.handoff.test_api_console import Console
from tests.backend.staff.helpers import Clock
from tests.miniprogram_api.conftest import API, MP
from tests.support.fake_wechat import FakeWechat


def test_complaint_filed_from_the_chat_is_in_the_customers_own_mini_program_list(
        client: TestClient, db: Session, runtime: Runtime, fake_wx: FakeWechat) -> None:
    from backend.handoff.messages import add_message
    from backend.handoff.service import request_handoff

    clock = Clock()
    runtime.clock = clock
    unionid = f"u{uuid.uuid4().hex[:16]}"
    oa_openid = f"o{uuid.uuid4().hex[:20]}"
    mp = MP(client, db, runtime, fake_wx)
    headers = mp.login(unionid=unionid)
    # the same person follows the official account (the account row the WeChat side records)
    db.add(CustomerAccount(channel="official_account", openid=oa_openid, unionid=unionid))
    row = request_handoff(db, channel="official_account", user_id=oa_openid, reason="complaint",
                          summary="我要投诉", cipher=runtime.cipher, now=clock.now)
    db.flush()
    add_message(db, row=row, direction="customer", text="理赔太慢了，我电话13812345678",
                cipher=runtime.cipher, now=clock.now)
    db.commit()
    assert client.get(f"{API}/complaints", headers=headers).json()["items"] == []

    agent = Console(client, db, runtime, clock, "agent", ["general", "claims", "complaints"])
    assert agent.post(f"/conversations/{row.id}/take").status_code == 200
    r = agent.post(f"/conversations/{row.id}/complaints",
                   {"category": "claim_speed", "content": "理赔太慢了", "use_chat_phone": True})
    assert r.status_code == 201, r.text
    filed = r.json()["complaint"]

    client.cookies.clear()
    mine = client.get(f"{API}/complaints", headers=headers)
    assert mine.status_code == 200, mine.text
    [item] = mine.json()["items"]
    assert item["complaint_no"] == filed["complaint_no"]
    assert item["answer_due_date"] == filed["resolution_due_date"]
    assert item["ack_due_at"].rstrip("Z")[:19] == filed["ack_due_at"].rstrip("Z")[:19]
