"""Progress every N working days (provisional in a year without holiday data), complaints, home
visits, the follow-up after closing, staff reminders, the subscribe ledger, the SmsReport endpoint
and the staff routes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.calendar.service import SHANGHAI
from backend.claims import approvals
from backend.claims import service as claims
from backend.claims.models import Claim
from backend.complaints import home_visits as visits
from backend.complaints import service as complaints
from backend.hooks import JobContext
from backend.jobs import service as jobs
from backend.jobs.runner import Executor
from backend.notices.models import Notice
from backend.notices.staff import run_staff_digest, staff_due_summary
from backend.notifications import subscriptions
from backend.outbox import PROGRESS_KIND, SEND_KIND
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from tests.backend.claims.support import calendar
from tests.backend.jobs.conftest import Clock
from tests.backend.notices.conftest import OPENID, PHONE, report, run_due
from tests.backend.staff.helpers import T0 as STAFF_T0
from tests.backend.staff.helpers import Staff
from tests.support.fake_aliyun_sms import FakeAliyunSms
from tests.support.fake_wechat import FakeWechat


def _local(at: dt.datetime) -> dt.datetime:
    return at.astimezone(SHANGHAI)


def _sent(db: Session, kind: str) -> list[Notice]:
    db.expire_all()
    q = select(Notice).where(Notice.kind == kind, Notice.state == "sent").order_by(Notice.id)
    return list(db.scalars(q))


def test_progress_notice_every_three_working_days_while_open(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat) -> None:
    clock.now = dt.datetime(2026, 9, 29, 2, 0, tzinfo=dt.UTC)  # Tuesday before the National Day week
    claim = report(db, cipher, catalog, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    due = []
    for _ in range(3):
        timer = jobs.get_job(db, kind=PROGRESS_KIND, key=str(claim.id))
        assert timer is not None and timer.state == "pending"
        due.append(_local(timer.due_at))
        clock.now = timer.due_at
        run_due(runtime, executor, clock)
        db.expire_all()
    # 3 working days each time, at 10:00: 1–7 Oct 2026 are holidays, Saturday 10 Oct a make-up workday.
    assert [d.date() for d in due] == [dt.date(2026, 10, 9), dt.date(2026, 10, 13), dt.date(2026, 10, 16)]
    assert all(d.hour == 10 for d in due)
    progress = _sent(db, "claim_progress")
    assert len(progress) == 3 and {n.params["case_no"] for n in progress} == {claim.case_no}
    mine = [t for t in fake_wechat.templates if t["data"]["character_string1"]["value"] == claim.case_no]
    assert len(mine) == 4
    # Closing stops the timer (withdrawn here).
    claims.transition_claim(db, cipher=cipher, calendar=calendar(), claim_id=claim.id, to_state="withdrawn",
                            actor="staff:1", reason="客户撤案", now=clock())
    db.commit()
    timer = jobs.get_job(db, kind=PROGRESS_KIND, key=str(claim.id))
    assert timer is not None and timer.state == "cancelled"


def approve_computed(db: Session, cipher: FieldCipher, catalog: Any, claim: Claim, *,
                     now: dt.datetime) -> None:
    """Approve the amount the product gives for a two-night stay from the accident day."""
    facts = approvals.BenefitFacts(admission=claim.accident_date,
                                   discharge=claim.accident_date + dt.timedelta(days=2))
    product = catalog.get(claim.product_id)
    amount = approvals.compute(db, claim=claim, product=product, facts=facts, today=now.date()).computed_fen
    approvals.propose_approval(db, cipher=cipher, calendar=calendar(), catalog=catalog,
                               second_approval_above_fen=10**9, claim_id=claim.id, amount_fen=amount,
                               facts=facts, reason=None, actor="staff:1", now=now)


def test_expected_date_in_a_year_without_holiday_data_is_said_to_be_provisional(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat) -> None:
    # Wednesday 30 December: three working days for paying a small amount reach into 2027.
    clock.now = dt.datetime(2026, 12, 30, 2, 0, tzinfo=dt.UTC)
    claim = report(db, cipher, catalog, now=clock())
    for m in claim.materials:
        claims.mark_material(db, cipher=cipher, claim_id=claim.id, material_id=m.material_id, received=True,
                             actor="staff:1", now=clock(), calendar=calendar())
    approve_computed(db, cipher, catalog, claim, now=clock())
    db.commit()
    assert claim.deadline_provisional  # payment falls in 2027, which has no holiday data yet
    run_due(runtime, executor, clock)
    [t] = [t for t in fake_wechat.templates if t["data"]["thing2"]["value"] == "审核通过，正在安排付款"]
    next_step = t["data"]["thing3"]["value"]
    assert next_step.endswith("（暂定）") and next_step.startswith("预计1月")
    assert t["data"]["thing4"]["value"] == "节假日安排未公布，日期为暂定"


def test_follow_up_question_within_a_week_after_closing(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat) -> None:
    claim = report(db, cipher, catalog, now=clock())
    claims.transition_claim(db, cipher=cipher, calendar=calendar(), claim_id=claim.id, to_state="withdrawn",
                            actor="staff:1", reason="x", now=clock())
    db.commit()
    assert jobs.get_job(db, kind=SEND_KIND, key=f"claim:{claim.id}:followup") is None  # withdrawn: no survey
    other = report(db, cipher, catalog, now=clock(), seq="7", openid="oFollow")
    for m in other.materials:
        claims.mark_material(db, cipher=cipher, claim_id=other.id, material_id=m.material_id, received=True,
                             actor="staff:1", now=clock(), calendar=calendar())
    approve_computed(db, cipher, catalog, other, now=clock())
    for to in ("paid", "closed"):  # paid by another person than the approver (issue 8 item 6)
        claims.transition_claim(db, cipher=cipher, calendar=calendar(), claim_id=other.id, to_state=to,
                                actor="staff:2", reason=None, now=clock())
    db.commit()
    row = jobs.get_job(db, kind=SEND_KIND, key=f"claim:{other.id}:followup")
    assert row is not None and clock() < row.due_at <= clock() + dt.timedelta(days=7)
    clock.now = row.due_at
    run_due(runtime, executor, clock)
    [n] = _sent(db, "claim_followup")
    assert n.subject_id == other.id


def test_complaint_acknowledged_and_answered(runtime: Runtime, db: Session, cipher: FieldCipher,
                                             catalog: Any, clock: Clock, executor: Executor,
                                             fake_wechat: FakeWechat) -> None:
    c = complaints.file_complaint(db, cipher=cipher, catalog=catalog, calendar=calendar(),
                                  category="claim_speed", severity="normal", channel="official_account",
                                  complainant_name="陈阿婆", contact_phone=PHONE, content="理赔太慢",
                                  actor="bot", openid=OPENID, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    [received] = _sent(db, "complaint_received")
    assert fake_wechat.templates[-1]["data"]["phrase2"]["value"] == "已受理"
    for to in ("investigating", "responded"):
        complaints.transition_complaint(db, cipher=cipher, complaint_id=c.id, to_state=to, actor="staff:1",
                                        response="已加快办理" if to == "responded" else None, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    assert len(_sent(db, "complaint_answered")) == 1 and received.params["complaint_no"] == c.complaint_no


def test_home_visit_confirmation_and_reminder_the_day_before(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_sms: FakeAliyunSms) -> None:
    visit = visits.request_home_visit(db, cipher=cipher, catalog=catalog, name="陈阿婆", phone=PHONE,
                                      address="峡山街道", purpose="办理理赔", channel="phone",
                                      actor="staff:1",
                                      now=clock())
    at = dt.datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI)
    visits.mark_contacted(db, cipher=cipher, visit_id=visit.id, actor="staff:1", now=clock(),
                          appointment_at=at)
    db.commit()
    run_due(runtime, executor, clock)
    [confirm] = fake_sms.sent
    assert confirm.params == {"number": visit.visit_no, "time": "2026年11月25日 09:30"}
    stamp = at.astimezone(dt.UTC).isoformat()
    reminder = jobs.get_job(db, kind=SEND_KIND, key=f"visit:{visit.id}:reminder:{stamp}")
    assert reminder is not None
    assert _local(reminder.due_at) == dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    clock.now = reminder.due_at
    run_due(runtime, executor, clock)
    assert len(fake_sms.sent) == 2 and fake_sms.sent[1].template_code == "SMS_HOME_VISIT_REMINDER"


def test_staff_reminders_summary_and_daily_digest(runtime: Runtime, db: Session, cipher: FieldCipher,
                                                  catalog: Any, clock: Clock, ctx: JobContext,
                                                  executor: Executor,
                                                  fake_wechat: FakeWechat) -> None:
    claim = report(db, cipher, catalog, now=clock())
    for m in claim.materials:
        claims.mark_material(db, cipher=cipher, claim_id=claim.id, material_id=m.material_id, received=True,
                             actor="staff:1", now=clock(), calendar=calendar())
    db.commit()
    assert claim.deadline_date is not None
    clock.now = dt.datetime.combine(claim.deadline_date - dt.timedelta(days=1), dt.time(9, 30),
                                    tzinfo=SHANGHAI).astimezone(dt.UTC)
    summary = staff_due_summary(db, calendar=calendar(), now=clock())
    assert claim.case_no in summary.claims
    runtime.settings.notices.staff_openids = ["oStaffLead"]
    assert run_staff_digest(ctx) == 1
    assert run_staff_digest(ctx) == 1  # the same day again: still one notice (its key is the day)
    run_due(runtime, executor, clock)
    staff_msgs = [t for t in fake_wechat.templates if t["touser"] == "oStaffLead"]
    assert len(staff_msgs) == 1 and staff_msgs[0]["data"]["thing1"]["value"].startswith("理赔")


def test_subscribe_message_only_while_an_acceptance_is_unused(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    mp_user = "oMiniProgramUser01"
    subscriptions.record_choices(db, channel="mini_program", openid=mp_user, source="miniprogram",
                                 choices=[subscriptions.Choice("SUBSCRIBE_CLAIM_PROGRESS", "accept")])
    fake_wechat.accept(mp_user, "SUBSCRIBE_CLAIM_PROGRESS", times=5)
    first = report(db, cipher, catalog, now=clock(), openid=mp_user, channel="mini_program", seq="30")
    db.commit()
    run_due(runtime, executor, clock)
    assert [s["touser"] for s in fake_wechat.subscribes] == [mp_user] and fake_sms.sent == []
    [left] = subscriptions.balances(db, channel="mini_program", openid=mp_user,
                                    template_ids=["SUBSCRIBE_CLAIM_PROGRESS"])
    assert left.available == 0
    claims.transition_claim(db, cipher=cipher, calendar=calendar(), claim_id=first.id, to_state="withdrawn",
                            actor="staff:1", reason="x", now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    assert len(fake_wechat.subscribes) == 1  # no acceptance left: SMS instead
    assert len(fake_sms.sent) == 1


def test_sms_report_endpoint_stores_receipts_once_and_answers_code_0(
        runtime: Runtime, client: TestClient, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock,
        executor: Executor, fake_sms: FakeAliyunSms) -> None:
    runtime.settings.sms.report_token = SecretStr("report-token-123")
    claim = report(db, cipher, catalog, openid=None, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    url = f"{client.base_url}/callbacks/aliyun/sms-report/report-token-123"
    assert client.post("/callbacks/aliyun/sms-report/wrong", json=[]).status_code == 404
    bad = client.post("/callbacks/aliyun/sms-report/report-token-123", json={"not": "a list"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_report"
    import httpx

    def via_test_client(u: str, json: Any, timeout: float) -> httpx.Response:
        return client.post(u.replace(str(client.base_url), ""), json=json)

    import tests.support.fake_aliyun_sms as fake_mod

    original = fake_mod.httpx.post
    fake_mod.httpx.post = via_test_client  # type: ignore[assignment]
    try:
        assert fake_sms.push_receipts(url) == {"code": 0, "msg": "接收成功"}
    finally:
        fake_mod.httpx.post = original  # type: ignore[assignment]
    db.expire_all()
    [n] = db.scalars(select(Notice).where(Notice.subject_id == claim.id)).all()
    assert n.receipt_status == "DELIVERED"
    again = client.post("/callbacks/aliyun/sms-report/report-token-123", json=[{
        "biz_id": n.provider_id, "out_id": "x", "success": False, "err_code": "MK:1", "report_time": ""}])
    assert again.json()["code"] == 0
    db.expire_all()
    assert db.get(Notice, n.id).receipt_status == "DELIVERED"  # type: ignore[union-attr]


def test_staff_list_dead_jobs_resend_and_see_a_claims_notices(
        runtime: Runtime, client: TestClient, staff: Staff, db: Session, cipher: FieldCipher, catalog: Any,
        clock: Clock, executor: Executor, fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    clock.now = STAFF_T0 + dt.timedelta(hours=1)  # when the test staff accounts' passwords are fresh
    fake_wechat.unfollowed.add(OPENID)
    fake_sms.inject("isv.SMS_SIGNATURE_ILLEGAL", "SendSms")
    claim = report(db, cipher, catalog, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    assert client.get("/staff/api/jobs/dead", headers=staff("agent")).status_code == 403
    r = client.get("/staff/api/jobs/dead", params={"kind": SEND_KIND}, headers=staff("supervisor"))
    assert r.status_code == 200
    [dead] = r.json()["items"]
    assert dead["key"] == f"claim:{claim.id}:v1:update" and "to" not in dead["payload"]
    r = client.post(f"/staff/api/jobs/{dead['id']}/resend", headers=staff("supervisor"))
    assert r.status_code == 200 and r.json()["state"] == "pending"
    assert client.post(f"/staff/api/jobs/{dead['id']}/resend", headers=staff("supervisor")).status_code == 409
    run_due(runtime, executor, clock)
    r = client.get(f"/staff/api/claims/{claim.id}/notices", headers=staff("agent"))
    assert r.status_code == 200
    [notice] = r.json()["items"]
    assert notice["state"] == "sent" and notice["channel"] == "sms" and claim.case_no in notice["text"]
    assert PHONE not in r.text
    r = client.put(f"/staff/api/notices/channels/{OPENID}", json={"channels": ["sms", "carrier_pigeon"]},
                   headers=staff("supervisor"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_channels"
