"""What set N (a fourteenth blind author, 27/40 at first sight, 37/40 now) and the last misses of F and G
taught: the day told with the fall, not the day of leaving hospital; 跌低 is a fall and a cow is no
collision; a relative named with a phone number owns the phone; an ID number and 同意 in the first
message are the yes; a visit that happened, told in a complaint, is its story. New sentences of the
same kinds. NOW is Saturday 21 November 2026."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.complaints.models import Complaint
from backend.privacy.service import has_consent
from tests.bot.dialogue.conftest import Chat, make_id, render, text

ID_N = make_id("19470228", "083")


def test_the_day_of_the_fall_not_the_day_of_leaving_hospital(chat: Chat) -> None:
    chat.say("阮阿爸上礼拜三在门口跋倒，手骨裂，在区医院住了几日，昨日出院，要报案")
    assert chat.frame_data("date") == "2026-11-11"


def test_accident_kinds_said_the_cantonese_way_or_by_an_animal(chat: Chat) -> None:
    chat.say("阿嬷喺屋企樓梯跌低，撞到膝頭，要報案")
    assert chat.frame_data("accident") == "fall"
    chat.forget_state()
    chat.say("阮老伴昨日去山里放牛，被牛撞着，要报案")
    assert chat.frame_data("accident") == "other"


def test_a_relative_named_with_a_phone_number_owns_the_phone(chat: Chat) -> None:
    chat.talk("阮阿嬷昨日在厝跋倒 要报案", "郑秀兰", "同意", ID_N, "峡山医院")
    chat.say("电话13927405186，系阮阿爸个")
    assert chat.frame_data("relation") == "grandmother"


def test_an_id_number_and_a_yes_in_the_first_message(chat: Chat, db: Session) -> None:
    chat.say(f"阮阿妈陈秀珍昨暝在浴室跋倒，现在在潮南区人民医院住院，身份证{ID_N}，阮同意恁用，电话13824561207")
    assert has_consent(db, category="id_number", channel=chat.channel, user_id=chat.user)
    assert chat.frame_secret("id_number") == ID_N and chat.state().frame.step == "confirm"  # type: ignore[union-attr]


def test_a_visit_that_happened_is_the_complaints_story(chat: Chat, db: Session) -> None:
    chat.say("我要投诉恁上门的工作人员")
    chat.say("前日来阮厝收资料，收了阮阿公200块，讲是跑路费")
    assert chat.flow() == "complaint"
    reply = chat.say("回电打13502396471")
    [c] = db.scalars(select(Complaint).where(Complaint.openid == chat.user))
    assert reply == render(chat, (text("cc_done", number=c.complaint_no, ack_hours=24, days=15),
                                  text("cc_no_fees"), text("cc_person")))  # money taken: a person too


def test_the_sum_of_a_stay_told_before_and_a_grade_asked_in_tenths(chat: Chat) -> None:
    chat.say("阮阿爸七月跋倒住院，一共住了100天，在峡山医院")
    reply = chat.say("那伊能拿多少钱？")
    said = chat.engine.copy.t("amt_allowance", days=100, amount=2700, per_day=30, paid_days=90)
    assert reply.startswith(said)
    chat.forget_state()
    reply = chat.say("我妈评了八级伤残，这个保险可以赔几成")
    assert reply.startswith(chat.engine.copy.t("amt_disability", grade=8, amount=900, sum=3000, percent=30))


def test_who_the_writer_is_is_no_name_and_a_remark_is_no_yes(chat: Chat) -> None:
    chat.say("我阿嬷大前天在菜市场滑倒，现在在潮南区人民医院住院")
    chat.say("我是孙女")
    assert chat.frame_secret("name") is None
    chat.talk("阿嬷叫马亚妹", "同意", ID_N)
    chat.say("13824561207")
    chat.say("我白天上班，打电话最好晚上")  # at the confirmation: no yes
    assert chat.state().frame is not None and chat.state().frame.step == "confirm"  # type: ignore[union-attr]


def test_a_lunar_day_with_nongli_said_after_it_and_a_name_with_its_age(chat: Chat) -> None:
    chat.say("庄振兴，88岁，在村口被电动门夹到手，要报案")
    assert chat.frame_secret("name") == "庄振兴"
    chat.say("十月初五那天，农历")
    assert chat.frame_data("date") == "2026-11-13"


def test_an_address_after_the_visit_rules_books_the_visit(chat: Chat) -> None:
    chat.say("能不能派人上门？要交理赔材料")
    chat.say("地址潮南区胪岗镇新庆村")
    assert chat.flow() == "home_visit"


def test_a_neighbour_who_cannot_reach_the_family_gets_a_person(chat: Chat, db: Session) -> None:
    from backend.handoff.models import HandoffRequest

    chat.say("紧急！隔壁阿伯跋倒在门口起唔来")
    chat.say("阮唔知伊厝人电话，恁快点叫人来")
    rows = list(db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)))
    assert [r.reason for r in rows] == ["urgent"]
