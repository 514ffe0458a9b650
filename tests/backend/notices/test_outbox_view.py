"""Staff see the notices due to go out and the ones no channel could deliver, in plain words, and resend
a dead one; the recipient never shows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.jobs.runner import Executor
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from tests.backend.jobs.conftest import Clock
from tests.backend.notices.conftest import OPENID, PHONE, report, run_due
from tests.backend.staff.helpers import T0 as STAFF_T0
from tests.backend.staff.helpers import Staff
from tests.support.fake_aliyun_sms import FakeAliyunSms
from tests.support.fake_wechat import FakeWechat


def test_staff_list_due_notices_and_dead_letters_and_resend_one(
        runtime: Runtime, client: TestClient, staff: Staff, db: Session, cipher: FieldCipher, catalog: Any,
        clock: Clock, executor: Executor, fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    clock.now = STAFF_T0 + dt.timedelta(hours=1)  # when the test staff accounts' passwords are fresh
    claim = report(db, cipher, catalog, now=clock())
    db.commit()
    sup = staff("supervisor")
    assert client.get("/staff/api/notices/due", headers=staff("agent")).status_code == 403
    assert client.get("/staff/api/notices/dead", headers=staff("agent")).status_code == 403

    # Before the worker ran: the claim's first notice is due now; its periodic one in 3 working days.
    r = client.get("/staff/api/notices/due", params={"within_hours": 1}, headers=sup)
    assert r.status_code == 200, r.text
    [due] = r.json()["items"]
    assert (due["kind"], due["subject_type"], due["subject_id"]) == ("claim_update", "claim", claim.id)
    assert claim.case_no in due["text"] and due["state"] == "pending"
    week = client.get("/staff/api/notices/due", params={"within_hours": 24 * 7}, headers=sup).json()["items"]
    assert [i["kind"] for i in week] == ["claim_update", "claim_progress"]
    assert claim.case_no in week[1]["text"] and week[1]["due_at"] > week[0]["due_at"]
    assert OPENID not in r.text and PHONE not in r.text

    # WeChat cannot reach the customer and the SMS signature is refused: the notice is dead.
    fake_wechat.unfollowed.add(OPENID)
    fake_sms.inject("isv.SMS_SIGNATURE_ILLEGAL", "SendSms")
    run_due(runtime, executor, clock)
    assert client.get("/staff/api/notices/due", params={"within_hours": 1}, headers=sup).json()["items"] == []
    r = client.get("/staff/api/notices/dead", headers=sup)
    assert r.status_code == 200
    [dead] = r.json()["items"]
    assert dead["kind"] == "claim_update" and dead["state"] == "dead" and claim.case_no in dead["text"]
    assert dead["last_error"] and OPENID not in r.text and PHONE not in r.text

    # Resent (the jobs route, with the job id shown): due again, then delivered by SMS.
    assert client.post(f"/staff/api/jobs/{dead['job_id']}/resend", headers=sup).status_code == 200
    assert client.get("/staff/api/notices/dead", headers=sup).json()["items"] == []
    [again] = client.get("/staff/api/notices/due", params={"within_hours": 0}, headers=sup).json()["items"]
    assert again["job_id"] == dead["job_id"] and again["attempts"] == 0
    run_due(runtime, executor, clock)
    assert fake_sms.by_out_id() and len(fake_sms.sent) == 1
