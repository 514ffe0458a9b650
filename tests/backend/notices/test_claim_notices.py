"""Claim notices end to end against the fake WeChat API and fake Aliyun SMS, on SQLite and PostgreSQL:
written with the change (F-W2), sent once with their idempotency keys (F-W3), WeChat first and SMS when
WeChat cannot reach the customer (F-WX), SMS rules, receipts, and the customer's view."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims import service as claims
from backend.jobs import service as jobs
from backend.jobs.runner import Executor
from backend.notices import service as notices
from backend.notices.models import Notice
from backend.notices.templates import load_book
from backend.outbox import PROGRESS_KIND, SEND_KIND
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from tests.backend.claims.support import calendar
from tests.backend.jobs.conftest import Clock
from tests.backend.notices.conftest import OPENID, PHONE, report, run_due
from tests.support.fake_aliyun_sms import FakeAliyunSms
from tests.support.fake_wechat import FakeWechat


def _notices(db: Session, claim_id: int) -> list[Notice]:
    db.expire_all()
    return list(db.scalars(select(Notice).where(Notice.subject_id == claim_id, Notice.subject_type == "claim")
                           .order_by(Notice.id)))


def test_report_and_state_change_write_notices_in_the_same_transaction__f_w2(
        db: Session, cipher: FieldCipher, catalog: Any, clock: Clock) -> None:
    nested = db.begin_nested()
    claim = report(db, cipher, catalog, now=clock())
    assert jobs.is_waiting(db, kind=SEND_KIND, key=f"claim:{claim.id}:v1:update")
    assert jobs.is_waiting(db, kind=PROGRESS_KIND, key=str(claim.id))
    nested.rollback()  # the report did not happen: neither did its notice nor its timer
    assert jobs.get_job(db, kind=SEND_KIND, key=f"claim:{claim.id}:v1:update") is None
    assert jobs.get_job(db, kind=PROGRESS_KIND, key=str(claim.id)) is None


def test_wechat_template_notice_sent_once_with_client_msg_id__f_w3(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    claim = report(db, cipher, catalog, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    [body] = fake_wechat.templates
    assert body["touser"] == OPENID and len(body["client_msg_id"]) == 32
    assert body["data"]["character_string1"]["value"] == claim.case_no
    assert body["data"]["thing2"]["value"] == "已收到报案"
    assert all("\n" not in v["value"] and len(v["value"]) <= 20 for k, v in body["data"].items()
               if k.startswith("thing"))
    [n] = _notices(db, claim.id)
    assert (n.state, n.channel, n.provider_id) == ("sent", "wechat_template", str(body["_msgid"]))
    assert fake_sms.sent == []
    # The notice's job ran; a redelivered queue message or a second run sends nothing more.
    assert run_due(runtime, executor, clock) == 0
    assert len(fake_wechat.templates) == 1


def test_state_change_notice_says_the_stage_and_expected_date_in_plain_words(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat) -> None:
    claim = report(db, cipher, catalog, now=clock())
    clock.advance(600)
    for m in claim.materials:
        claims.mark_material(db, cipher=cipher, claim_id=claim.id, material_id=m.material_id, received=True,
                             actor="staff:1", now=clock(), calendar=calendar())
    db.commit()
    run_due(runtime, executor, clock)
    reviewing = "材料齐了，正在审核"
    [last] = [t["data"] for t in fake_wechat.templates if t["data"]["thing2"]["value"] == reviewing]
    assert last["thing3"]["value"].startswith("预计") and "日前审核完" in last["thing3"]["value"]
    book = load_book()
    views = notices.notices_for_claim(db, claim_id=claim.id, book=book, sent_only=True)
    assert views[0].text.startswith(f"您的理赔案件{claim.case_no}有新进展：材料齐了，正在审核。预计")
    assert all(v.state == "sent" for v in views)


def test_not_following_falls_back_to_sms__f_wx_43004(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    fake_wechat.unfollowed.add(OPENID)
    claim = report(db, cipher, catalog, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    assert fake_wechat.templates == []
    [sms] = fake_sms.sent
    assert sms.phone == PHONE and sms.params["case_no"] == claim.case_no
    [n] = _notices(db, claim.id)
    assert (n.state, n.channel, n.provider_id) == ("sent", "sms", sms.biz_id)
    assert [(a["channel"], a["outcome"], a["code"]) for a in n.attempts] == [
        ("wechat_template", "unreachable", "43004"), ("sms", "sent", None)]


def test_refused_template_falls_back_to_sms__f_wx_43101(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    fake_wechat.refused.add((OPENID, "TEMPLATE_CLAIM_PROGRESS"))
    report(db, cipher, catalog, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    assert len(fake_sms.sent) == 1 and fake_wechat.templates == []


def test_quota_exhausted_goes_to_sms_without_a_retry_storm__f_wx_45009(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    fake_wechat.inject(45009, "/cgi-bin/message/template/send")
    report(db, cipher, catalog, now=clock(), seq="2")
    report(db, cipher, catalog, now=clock(), seq="3", openid="oOther")
    db.commit()
    run_due(runtime, executor, clock)
    # The circuit opened at the first 45009: the second notice did not even try WeChat.
    assert fake_wechat.calls.get("/cgi-bin/message/template/send", 0) == 0
    assert len(fake_sms.sent) == 2


def test_busy_retries_with_the_same_client_msg_id_and_delivers_once__f_wx_minus_1(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    fake_wechat.inject("late", "/cgi-bin/message/template/send")  # sent, the answer comes too late
    claim = report(db, cipher, catalog, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    [n] = _notices(db, claim.id)
    assert n.attempts[-1]["outcome"] == "transient"
    db.expire_all()
    row = jobs.get_job(db, kind=SEND_KIND, key=n.key)
    assert row is not None and row.state == "pending" and row.due_at > clock()
    clock.now = row.due_at
    run_due(runtime, executor, clock)
    assert fake_wechat.delivered() == {fake_wechat.templates[0]["client_msg_id"]: 1}
    assert fake_wechat.template_repeats == 1  # the retry reached WeChat and was recognised
    assert _notices(db, claim.id)[0].state == "sent" and fake_sms.sent == []


def test_phone_only_customer_gets_sms_and_quiet_hours_hold_it_until_morning__sms(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    clock.now = dt.datetime(2026, 11, 23, 14, 30, tzinfo=dt.UTC)  # 22:30 in Shanghai
    claim = report(db, cipher, catalog, openid=None, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    assert fake_sms.sent == [] and fake_wechat.templates == []
    db.expire_all()
    row = jobs.get_job(db, kind=SEND_KIND, key=f"claim:{claim.id}:v1:update")
    assert row is not None and row.state == "pending" and row.attempts == 0
    morning = dt.datetime(2026, 11, 24, 0, 0, tzinfo=dt.UTC)  # 08:00 in Shanghai
    assert morning <= row.due_at <= morning + dt.timedelta(minutes=30)
    clock.now = row.due_at
    run_due(runtime, executor, clock)
    assert [s.phone for s in fake_sms.sent] == [PHONE]


def test_per_number_daily_limit_and_provider_limit__sms(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_sms: FakeAliyunSms) -> None:
    runtime.settings.notices.sms_daily_limit_per_number = 2
    for i in range(3):
        report(db, cipher, catalog, openid=None, now=clock(), seq=str(10 + i))
    db.commit()
    run_due(runtime, executor, clock)
    assert len(fake_sms.sent) == 2  # the third waits for the rolling day to pass
    pending = select(jobs.Job).where(jobs.Job.kind == SEND_KIND, jobs.Job.state == "pending")
    waiting = list(db.scalars(pending))
    assert len(waiting) == 1 and waiting[0].due_at > clock() + dt.timedelta(hours=23)
    # The provider's own limit (isv.BUSINESS_LIMIT_CONTROL) also means "later", not "failed".
    runtime.settings.notices.sms_daily_limit_per_number = 10
    fake_sms.inject("isv.BUSINESS_LIMIT_CONTROL", "SendSms")
    clock.now = waiting[0].due_at
    run_due(runtime, executor, clock)
    db.expire_all()
    row = jobs.get_job(db, kind=SEND_KIND, key=waiting[0].key)
    assert row is not None and row.state == "pending" and row.due_at >= clock() + dt.timedelta(minutes=59)
    clock.now = row.due_at
    run_due(runtime, executor, clock)
    assert len(fake_sms.sent) == 3


def test_sms_with_no_answer_is_checked_before_any_resend__sms_f_w3(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_sms: FakeAliyunSms) -> None:
    fake_sms.inject("after_send_timeout", "SendSms")  # Aliyun sent it; its answer never came
    claim = report(db, cipher, catalog, openid=None, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    [n] = _notices(db, claim.id)
    assert n.attempts[-1]["outcome"] == "unknown"
    row = jobs.get_job(db, kind=SEND_KIND, key=n.key)
    assert row is not None
    clock.now = row.due_at
    run_due(runtime, executor, clock)
    assert fake_sms.requests["QuerySendDetails"] >= 1
    assert list(fake_sms.by_out_id().values()) == [1]  # SendSms is not idempotent: not sent twice
    [n] = _notices(db, claim.id)
    assert (n.state, n.attempts[-1]["code"]) == ("sent", "found_by_query")


def test_no_channel_left_dead_letters_and_staff_resend_delivers(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    fake_wechat.unfollowed.add(OPENID)
    fake_sms.inject("isv.SMS_TEMPLATE_ILLEGAL", "SendSms")
    claim = report(db, cipher, catalog, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    [n] = _notices(db, claim.id)
    assert n.state == "failed"
    [dead] = jobs.list_dead(db, kind=SEND_KIND)
    assert dead.key == n.key and "no channel left" in (dead.last_error or "")
    fake_wechat.unfollowed.clear()  # the customer followed the account again
    jobs.resend(db, job_id=dead.id, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    [n] = _notices(db, claim.id)
    assert (n.state, n.channel) == ("sent", "wechat_template")


def test_failed_template_receipt_sends_the_notice_again_by_sms(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    claim = report(db, cipher, catalog, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    msgid = str(fake_wechat.templates[0]["_msgid"])
    notices.record_template_receipt(db, msgid=msgid, status="failed:user block", now=clock())
    notices.record_template_receipt(db, msgid=msgid, status="failed:user block", now=clock())  # pushed twice
    db.commit()
    run_due(runtime, executor, clock)
    assert len(fake_sms.sent) == 1
    [n] = _notices(db, claim.id)
    assert (n.state, n.channel, n.receipt_status) == ("sent", "sms", None)


@pytest.mark.parametrize("status", ["success"])
def test_template_receipt_is_stored_on_the_notice(runtime: Runtime, db: Session, cipher: FieldCipher,
                                                  catalog: Any, clock: Clock, executor: Executor,
                                                  fake_wechat: FakeWechat, status: str) -> None:
    report(db, cipher, catalog, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    notice = notices.record_template_receipt(db, msgid=str(fake_wechat.templates[0]["_msgid"]), status=status,
                                             now=clock())
    assert notice is not None and notice.receipt_status == "success"
    assert notices.record_template_receipt(db, msgid="999", status=status) is None  # not ours


def test_channel_order_per_customer_and_rate_limit_from_config(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    notices.set_channel_order(db, openid=OPENID, channels=["sms", "wechat_template"], now=clock())
    report(db, cipher, catalog, now=clock())
    db.commit()
    run_due(runtime, executor, clock)
    assert len(fake_sms.sent) == 1 and fake_wechat.templates == []
    runtime.settings.notices.rate_per_s["wechat_template"] = 1
    for i in range(3):
        report(db, cipher, catalog, now=clock(), seq=str(20 + i), openid=f"oRate{i}")
    db.commit()
    run_due(runtime, executor, clock, rounds=1)
    assert len(fake_wechat.templates) == 1  # one per second: the others wait a second
    held = list(db.scalars(select(jobs.Job).where(jobs.Job.kind == SEND_KIND, jobs.Job.state == "pending")))
    assert len(held) == 2 and all(j.attempts == 0 for j in held)



def test_receipts_stored_by_the_webhook_reach_their_notices(
        runtime: Runtime, db: Session, cipher: FieldCipher, catalog: Any, clock: Clock, executor: Executor,
        ctx: Any, fake_wechat: FakeWechat, fake_sms: FakeAliyunSms) -> None:
    from backend.conversations import service as conv
    from backend.notices.jobs import run_receipts

    first = report(db, cipher, catalog, now=clock(), seq="51", openid="oReceiptA")
    second = report(db, cipher, catalog, now=clock(), seq="52", openid="oReceiptB")
    db.commit()
    run_due(runtime, executor, clock)
    msgids = {t["touser"]: str(t["_msgid"]) for t in fake_wechat.templates}
    # What the webhook does with TEMPLATESENDJOBFINISH (bot/processing.py), for both messages.
    conv.record_template_receipt(db, template_msgid=msgids["oReceiptA"], openid="oReceiptA", status="success",
                                 received_at=clock())
    conv.record_template_receipt(db, template_msgid=msgids["oReceiptB"], openid="oReceiptB",
                                 status="failed:user block", received_at=clock())
    db.commit()
    assert run_receipts(ctx) == 2
    assert run_receipts(ctx) == 0  # once
    run_due(runtime, executor, clock)
    [a], [b] = _notices(db, first.id), _notices(db, second.id)
    assert (a.channel, a.receipt_status) == ("wechat_template", "success")
    assert (b.state, b.channel) == ("sent", "sms") and len(fake_sms.sent) == 1
