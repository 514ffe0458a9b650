"""What the eleventh blind author's winding conversations taught (issue 11, set K; 24/40 at first
sight): the ID number itself, sent in answer to the consent question, is the yes (and "不同意" later
takes it back, as the reply promises); a name after 我爸爸 or after 阿妈 and a space, or after 阮是; a
phone at the complaint's phone question with "请回电话给我" is that phone; someone alone who cannot call
120 gets a person; a death on a coach is told its sum; where they stay now replaces the clinic where
they fell; "我阿爸叫我先报案" names who sent the writer; after a death, an earlier lunar day told with
the accident is its day; another person's accident amid a progress question is reported as theirs; a
plain question while nobody has taken the chat yet is answered once; another number after a visit is
booked is the visit's. The sentences are new ones of the same kinds, not the set's own.
NOW is Saturday 21 November 2026."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.complaints.models import PURPOSE_COMPLAINT_PHONE, PURPOSE_VISIT_PHONE, Complaint, HomeVisit
from backend.handoff.models import HandoffRequest
from backend.privacy.service import has_consent
from tests.bot.dialogue.conftest import (
    IN_HOURS,
    Chat,
    Choices,
    Faq,
    consent,
    make_id,
    render,
    text,
    verify_dialog,
)

ID_W = make_id("19460808", "062")
PHONE = "13926481357"
TYPE_QUESTION = Choices("cr_ask_type", ("住院了", "伤残了", "去世了"))


def _consented(chat: Chat, db: Session) -> bool:
    return has_consent(db, category="id_number", channel=chat.channel, user_id=chat.user)


def test_an_id_number_sent_at_the_consent_question_is_the_yes_and_no_takes_it_back(
        chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("阮阿姆前日在菜市场跋倒 要报案", (text("cr_start"), text("cr_ask_name"))),
        ("黄淑娟", consent("id_number")),
        (ID_W, (text("consent_id_sent"), TYPE_QUESTION)),
    ])
    assert _consented(chat, db) and chat.frame_secret("id_number") == ID_W
    verify_dialog(chat, [("身份证我不同意给了", (text("consent_id_withdrawn"), TYPE_QUESTION))])
    db.expire_all()
    assert not _consented(chat, db) and chat.frame_secret("id_number") is None


def test_a_mistyped_id_number_at_the_consent_question_is_explained(chat: Chat) -> None:
    wrong = ID_W[:-1] + ("1" if ID_W[-1] != "1" else "2")
    verify_dialog(chat, [
        ("我阿公昨天在厝里楼梯跋倒 报案", (text("cr_start"), text("cr_ask_name"))),
        ("陈德胜", consent("id_number")),
        (wrong, (text("consent_id_sent"), text("cr_bad_id", reason="身份证号最后一位校验不对，请核对。"),
                 text("cr_ask_id"))),
        (ID_W, TYPE_QUESTION),
    ])


def test_a_name_after_baba_after_a_space_or_after_ruan_shi(chat: Chat) -> None:
    chat.say("报案")
    chat.say("我爸爸蔡永年，七十一岁，前天骑电动车在峡山被摩托车撞倒")
    assert chat.frame_secret("name") == "蔡永年"
    chat.forget_state()
    chat.say("报案")
    chat.say("是我阿嬷 郑美玉 昨日早起在厝里跋倒")
    assert chat.frame_secret("name") == "郑美玉"
    chat.forget_state()
    chat.say("阮是林炳辉 礼拜四在厝里冲凉跋倒 腰骨痛")
    assert chat.frame_data("relation") == "self"
    assert chat.frame_secret("name") == "林炳辉"


def test_the_writer_named_before_a_relative_is_not_the_insured(chat: Chat) -> None:
    chat.say("我是陈大明，我阿爸昨天在厝里跋倒，要报案")
    assert chat.frame_data("relation") == "father"
    assert chat.frame_secret("name") is None


def test_a_call_me_back_with_the_number_at_the_complaint_phone_question_is_the_phone(
        chat: Chat, db: Session) -> None:
    chat.say("我要投诉")
    chat.say("阮阿妈的材料上个月就交齐了，到今还无消息")
    reply = chat.say(f"请打电话给我 {PHONE}")
    [c] = db.scalars(select(Complaint).where(Complaint.openid == chat.user))
    assert reply == render(chat, text("cc_done", number=c.complaint_no, ack_hours=24, days=15))
    assert chat.engine.runtime.cipher.decrypt(c.contact_phone_enc, purpose=PURPOSE_COMPLAINT_PHONE) == PHONE
    assert db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)).first() is None


def test_someone_alone_who_cannot_call_120_gets_a_person(chat: Chat, db: Session) -> None:
    verify_dialog(chat, [("阮老伴跋落床 起唔来", text("emergency"))])
    chat.say("阮唔识打120 你们帮阮叫")
    row = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)).first()
    assert row is not None and row.reason == "urgent"


def test_a_death_on_a_coach_is_told_its_sum_when_the_report_is_in(chat: Chat) -> None:
    chat.talk("我阿爸走了", "上个月15号坐客运大巴回潮南，路上大巴翻车，送到医院没救回来", "伊叫吴振雄",
              "同意", ID_W)
    chat.say(PHONE)
    reply = chat.say("对")
    benefit = chat.engine.runtime.catalog.get().benefits.transport("motor_vehicle")
    assert f"可以赔{benefit.amount_yuan}元" in reply and benefit.proof[0] in reply


def test_where_they_stay_now_replaces_the_clinic_where_they_fell(chat: Chat) -> None:
    chat.talk("报案", "我家婆前日去陈店镇卫生院拿药，出门口跋倒，手骨断了", "伊叫姚秀莲", "同意", ID_W)
    chat.say("现在在潮南区人民医院住院")
    assert chat.frame_data("hospital") == "潮南区人民医院"


def test_the_one_who_sent_the_writer_is_not_the_one_hurt(chat: Chat) -> None:
    chat.say("救命 阿嬷跋倒了 头流血")
    chat.say("现在在潮南民生医院了，我阿爸叫我先来报案")
    assert chat.flow() == "claim_report" and chat.frame_data("relation") == "grandmother"


def test_after_a_death_an_earlier_lunar_day_told_with_the_accident_is_its_day(chat: Chat) -> None:
    chat.say("阿嬷昨日过身了")
    chat.say("伊农历十月初一在厝后跋倒撞着头，住了两个礼拜院就走了")
    assert chat.frame_data("date") == "2026-11-09"  # 农历十月初一
    assert chat.frame_data("date_lunar")


def test_another_persons_accident_amid_a_progress_question_is_reported_as_theirs(chat: Chat) -> None:
    chat.say("阮阿爸上个月跋倒那单赔了未")
    chat.say("案件号唔记得")
    chat.say("对了，阮阿妈礼拜二乞狗咬着脚，这个还未报，先报这个")
    assert chat.flow() == "claim_report"
    assert (chat.frame_data("relation"), chat.frame_data("accident")) == ("mother", "dog_bite")
    assert chat.frame_data("date") == "2026-11-17"


def test_a_plain_question_while_nobody_has_the_chat_yet_is_answered_once(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    chat.say("转人工")
    assert db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)).first() is not None
    verify_dialog(chat, [
        ("你们网点几点下班", (text("handoff_meanwhile"), Faq("service_hours"))),
        ("还要等多久", ""),
        ("网点几点关门", ""),  # the same answer is not sent twice: the person takes it on
    ])


def test_another_number_after_a_visit_is_booked_is_the_visits(chat: Chat, db: Session) -> None:
    chat.say("阿爸中风行唔得，可以派人上门办理赔吗，住在两英镇高堂村")
    chat.say(PHONE)
    verify_dialog(chat, [("算了，你们打我阿弟的，伊住得近，13715062384", text("hv_phone_changed"))])
    [visit] = db.scalars(select(HomeVisit).where(HomeVisit.openid == chat.user))
    assert chat.engine.runtime.cipher.decrypt(visit.phone_enc, purpose=PURPOSE_VISIT_PHONE) == "13715062384"
    assert db.scalars(select(Complaint).where(Complaint.openid == chat.user)).first() is None


def test_a_new_number_at_the_case_number_question_is_an_update_not_a_case_number(chat: Chat) -> None:
    chat.say("阮阿爸上个月报的案，当时留的电话现在停用了")
    chat.say(f"新号码 {PHONE}")
    assert chat.flow() == "info_update"


def test_an_id_number_sent_at_the_progress_consent_question_is_the_yes(chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("查理赔进度", text("cp_ask")),
        ("LP26112100011", (text("cp_case_unknown"), consent("id_number"))),
        (f"身份证 {ID_W}", (text("consent_id_sent"), text("cp_ask_name"))),
    ])
    assert _consented(chat, db)
