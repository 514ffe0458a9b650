"""What the twelfth and thirteenth blind authors taught (issue 11; set L, a strict reviewer's cases,
26/40 at first sight; set M, callers at the edges of the rules, 23/40). Each test tells a new
conversation of the same kind, not the set's own words. NOW is Saturday 21 November 2026."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.complaints.models import PURPOSE_COMPLAINT_PHONE, Complaint, HomeVisit
from backend.handoff.models import HandoffRequest
from tests.bot.dialogue.conftest import (
    IN_HOURS,
    Chat,
    Choices,
    confirm,
    consent,
    make_id,
    render,
    text,
    verify_dialog,
)

ID_F = make_id("19480315", "041")
PHONE = "13726485190"


def _complaints(db: Session, chat: Chat) -> list[Complaint]:
    return list(db.scalars(select(Complaint).where(Complaint.openid == chat.user)))


def _handoffs(db: Session, chat: Chat) -> list[HandoffRequest]:
    # in the order they were made: without ORDER BY, PostgreSQL may return updated rows in another order
    return list(db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)
                           .order_by(HandoffRequest.id)))


def test_a_case_number_and_a_demand_for_someone_in_charge_do_not_derail_a_complaint(
        chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("我要投诉", text("cc_ask_what")),
        ("阮阿爸的材料早就交齐了，到今一个多月无消息", text("cc_ask_phone")),
        # their case number as they have it: kept for staff, no "a phone has 11 digits"
        ("案件号 LP2026102200158", text("cc_ask_phone_again")),
        # 要有人负责 is the complaint's words, not a request for a person now
        ("我唔要再听讲在处理，要有人负责", text("cc_ask_phone_again")),
    ])
    reply = chat.say(f"回电打 {PHONE}")
    [c] = _complaints(db, chat)
    assert reply == render(chat, text("cc_done", number=c.complaint_no, ack_hours=24, days=15))
    assert chat.engine.runtime.cipher.decrypt(c.contact_phone_enc, purpose=PURPOSE_COMPLAINT_PHONE) == PHONE
    assert _handoffs(db, chat) == []


def test_once_120_is_called_the_helper_can_start_the_report(chat: Chat) -> None:
    verify_dialog(chat, [
        ("快 隔壁阿婶跋倒在门口 头流血", text("emergency")),
        ("毛巾按住了 120也打了", text("emergency_waiting")),
    ])
    chat.say("伊一个人住 我先帮伊报")
    assert chat.flow() == "claim_report"


def test_corrections_in_words_at_the_confirmation(chat: Chat) -> None:
    chat.talk("阮老爸前日在厝门口跋倒 要报案", "陈木德", "同意", ID_F, "潮南民生医院")
    chat.say(PHONE)
    told = {"name": "陈木德", "id_number": ID_F, "claim_type": "去了医院", "accident": "摔倒", "phone": PHONE}
    verify_dialog(chat, [
        ("唔对 唔是阮老爸 是阮老伴 阮叫伊老爸是跟孩子叫的",
         confirm(**told, relation="老伴", date="2026年11月19日", hospital="潮南民生医院")),
        # a day said the lunar way, corrected with its reason after it: the day after 是
        ("日子唔对 唔是初七 是初八 初七是去拜老爷",
         confirm(**told, relation="老伴", date="2026年11月16日（农历十月初八）", hospital="潮南民生医院")),
        # the hospital corrected: the one right after 是, not the one the explanation names
        ("医院不对 是峡山医院 民生医院是阮阿公以前住的",
         confirm(**told, relation="老伴", date="2026年11月16日（农历十月初八）", hospital="峡山医院")),
    ])


def test_nothing_to_change_after_all_goes_back_to_the_confirmation(chat: Chat) -> None:
    chat.talk("阮阿姆昨日跋倒 要报案", "吴秀珍", "同意", ID_F, "峡山医院")
    want = chat.say(PHONE)
    verify_dialog(chat, [("不对", text("cr_which_wrong")), ("其他都对", want)])


def test_a_change_of_mind_after_refusing_the_id_number(chat: Chat) -> None:
    verify_dialog(chat, [
        ("阮家婆昨日乞狗咬着脚 要报案", (text("cr_start"), text("cr_ask_name"))),
        ("许秀兰", consent("id_number")),
        ("2", (text("cr_no_id"), Choices("cr_ask_type", ("住院了", "伤残了", "去世了")))),
        ("好吧 可以", (text("consent_early_ok", text=consent("id_number").values["text"]),
                      text("cr_ask_id"))),
    ])
    chat.say(ID_F)
    assert chat.frame_secret("id_number") == ID_F


def test_hurry_and_pain_in_a_report_is_no_complaint(chat: Chat, db: Session) -> None:
    chat.talk("阮阿妈昨暝跋倒 脚骨断了 住在潮南民生医院 要报案")
    chat.say("伊痛到行唔得 一直喊 你们快点")
    assert chat.flow() == "claim_report"
    assert _complaints(db, chat) == []


def test_money_asked_for_by_someone_posing_as_staff_is_a_complaint_with_a_warning(
        chat: Chat, db: Session) -> None:
    first = chat.say("昨日有人来阮村，说是你们公司的，挨家挨户叫老人先转两百元手续费")
    assert first.startswith(text("cc_no_fees").render(chat))  # do not pay: said first (set O), not again
    reply = chat.say(PHONE)
    [c] = _complaints(db, chat)
    assert reply == render(chat, text("cc_done", number=c.complaint_no, ack_hours=24, days=15))


def test_an_amount_for_a_stay_said_alone_amid_a_report(chat: Chat) -> None:
    chat.talk("阮阿公上个月跋倒骨折 在潮南区人民医院住院到今日 医生讲还要住好久")
    reply = chat.say("按一百二十日算几多钱")
    said = chat.engine.copy.t("amt_allowance", days=120, amount=2700, per_day=30, paid_days=90)
    assert reply.startswith(said)


def test_a_new_bank_card_with_a_callback_number_is_a_request_for_staff(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    chat.talk("阮阿爸的银行卡丢了 已经挂失 新办了一张卡 理赔的钱要打去新卡 要怎么改", "1", ID_F, "黄炳南")
    chat.say(f"卡号我唔敢发 你们工作人员打我电话 {PHONE}")
    rows = [r for r in _handoffs(db, chat) if r.reason == "info_update"]
    assert len(rows) == 1 and "银行卡" in (rows[0].summary_snippet or "")
    assert chat.state().frame is None


def test_two_stays_told_in_two_messages_are_added_up(chat: Chat) -> None:
    chat.talk("阮老爸今年二月跋倒 在峡山医院住了30日", "七月又跋倒一次 在潮南区人民医院住了100日")
    reply = chat.say("两次加起来有几多钱")
    assert "3600元" in reply  # 30 + 90 days × 30 元


def test_a_death_of_someone_already_reported_is_no_second_report(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    chat.say("阮阿妈昨日走了")
    reply = chat.say("伊上个月跋倒，已经报过案了，当时报的是住院")
    assert reply.startswith(chat.engine.copy.t("cr_death_reported"))
    assert "死亡证明" in reply
    assert chat.state().frame is None and [r.reason for r in _handoffs(db, chat)] == ["info_update", "asked"]


def test_a_village_cadre_reports_for_someone_not_kin(chat: Chat) -> None:
    chat.talk("我是村干部，我们村一个阿伯昨日坐公交车出车祸走了，伊仔女唔识用手机", "伊叫蔡德福")
    chat.say("我和伊没有亲戚关系")
    assert chat.frame_data("relation") == "non_relative"


def test_a_birthday_is_not_the_accident_day_and_last_years_lunar_day_is_last_year(chat: Chat) -> None:
    chat.say("阮阿爸上个月5号刚满60岁，现在有保无")
    chat.say("农历十月初五伊在厝里煮饭烫着手 要报案")
    assert chat.frame_data("date") == "2026-11-13"  # 农历十月初五, not 10月5日
    chat.forget_state()
    chat.say("阮阿妈去年农历八月十五在菜园跋倒 手骨断了 要报案")
    assert chat.frame_data("date") == "2025-10-06"  # 去年中秋


def test_after_a_handoff_for_a_misunderstanding_a_plain_complaint_is_taken(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    chat.talk("钱的事情", "这个那个", "呃呃呃")
    assert [r.reason for r in _handoffs(db, chat)] == ["misunderstood"]
    verify_dialog(chat, [("阮要投诉", text("cc_ask_what"))])
    db.expire_all()
    assert [r.status for r in _handoffs(db, chat)] == ["closed"]


def test_a_visit_booked_with_its_story_and_a_question_where_the_phone_is_asked(
        chat: Chat, db: Session) -> None:
    chat.say("阿伯跋倒骨折已经报过案了，现在出院在厝里卧床，材料无人送，住在井都镇")
    verify_dialog(chat, [
        ("伊仔女拢在外地做工", (text("noted"), text("hv_ask_phone"))),
        ("能唔能派人上门收材料？", (text("hv_yes"), text("hv_ask_phone"))),
    ])
    chat.say(PHONE)
    assert db.scalars(select(HomeVisit).where(HomeVisit.openid == chat.user)).first() is not None


def test_an_approved_claim_is_told_when_the_money_comes(chat: Chat) -> None:
    std = chat.engine.runtime.catalog.get().service_standards
    verify_dialog(chat, [
        ("阮老伴的赔款几时会到", text("cp_ask")),
        ("短信讲审核通过了", (text("cp_paid_when", threshold=std.payment_threshold_yuan,
                                   below=std.payment_below_threshold_working_days,
                                   above=std.payment_at_or_above_threshold_working_days), text("cp_ask"))),
        ("伊叫陈淑娟", text("cp_no_case")),
    ])


def test_a_household_registration_in_a_town_of_the_district_is_inside(chat: Chat) -> None:
    chat.say("阮老公户口在潮阳，有这个保险无")
    assert chat.state().notes.get("hukou_other") == "潮阳"
    chat.say("我自己户口在峡山，66岁")
    assert "hukou_other" not in chat.state().notes
