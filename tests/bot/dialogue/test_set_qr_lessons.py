"""What sets Q and R (two more blind authors: 29 and 30 of 40 at first sight) taught, in new sentences of
the same kinds: the day of the clause that tells the fall, not of the transfer or of the question; 听唔着
is no correction; 无报过 is not "reported before"; a phone number where an update asks for the ID is a
call back; a grade told in a report is answered with its sum; an illness, a household registration
elsewhere and a 60th birthday are answered for what they are. NOW is Saturday 21 November 2026."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.handoff.models import HandoffRequest
from tests.bot.dialogue.conftest import Chat, Faq, make_id, render, text

ID_Q = make_id("19460818", "046")


def test_the_day_of_the_fall_not_of_the_transfer_or_of_the_question(chat: Chat) -> None:
    chat.say("我阿妈上礼拜四在厕所跌倒，头撞到，前天转去汕头中心医院，现在还在住院")
    assert chat.frame_data("date") == "2026-11-12"
    chat.forget_state()
    chat.say("阮阿爸18号跋倒，我以为阿兄有报案，今日问伊，伊讲无报")
    assert chat.frame_data("date") == "2026-11-18"


def test_a_death_days_after_a_fall_on_a_bus_keeps_the_day_of_the_fall(chat: Chat) -> None:
    reply = chat.say("阿妈上个礼拜二坐公交车，司机急刹伊跋倒，住院几日，前日过身了")
    assert reply.startswith(text("condolence").render(chat))
    assert chat.state().notes["date"] == "2026-11-10"


def test_cannot_hear_is_no_correction_of_the_day(chat: Chat) -> None:
    chat.talk("阮阿公昨日在厝跋倒 要报案", "郑木松", "同意", ID_Q, "峡山医院")
    chat.say("电话打阮孙，阮耳仔听唔着，阮孙礼拜日才转来，电话13612874530")
    assert chat.frame_data("date") == "2026-11-20"


def test_never_reported_before_is_no_earlier_report(chat: Chat) -> None:
    chat.say("阮阿嬷上礼拜跋倒，送去医院抢救，昨日走了，要怎么办")
    reply = chat.say("之前都无报过，今日头一次问")
    assert not reply.startswith(text("cr_death_reported").render(chat))
    assert chat.flow() == "claim_report"


def test_a_phone_number_where_an_update_asks_for_the_id_is_a_call_back(chat: Chat, db: Session) -> None:
    chat.say("阮阿爸理赔填的银行卡丢了，去挂失了，新卡卡号变了，要怎么改")
    chat.talk("1")
    chat.say("阿爸叫吴锦泉，案件号我唔记得")
    chat.say("电话 15875420963")
    rows = list(db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)))
    assert "info_update" in [r.reason for r in rows]  # for staff, and a person to check who it is


def test_a_grade_told_in_a_report_is_answered_and_a_question_of_it_is_no_complaint(chat: Chat) -> None:
    reply = chat.say("阿爸九月跋倒脚骨断，上礼拜伤残鉴定出来了，评八级")
    assert reply.startswith(text("amt_disability", grade=8, amount=900, sum=3000, percent=30).render(chat))
    reply = chat.say("你们的人讲赔九百，十级是按几成算的？")
    assert reply.startswith(text("amt_disability", grade=10, amount=300, sum=3000, percent=10).render(chat))
    assert chat.flow() == "claim_report"


def test_an_illness_is_no_accident(chat: Chat) -> None:
    reply = chat.say("阮阿爸前日脑梗入院，现在在中心医院，这个老人保险会使报吗")
    assert reply.startswith(text("excl_illness").render(chat))


def test_a_household_registration_elsewhere_gets_no_report_offered(chat: Chat) -> None:
    reply = chat.say("阮老伴在厝门口跋倒住院，阮户口在揭阳普宁，在潮南住了二十年，有保吗")
    assert reply == render(chat, text("elig_other", place="揭阳普宁", district="潮南区", age=60))
    assert chat.say("那阮去哪里问") == render(chat, text("elig_elsewhere", place="揭阳普宁"))


def test_a_60th_birthday_last_month_is_told_when_the_cover_starts(chat: Chat) -> None:
    reply = chat.say("阮阿爸上个月才满60岁，伊现在有无在这个保险里？")
    assert reply == render(chat, text("cov_turned_age", age=60, district="潮南区"))


def test_a_name_and_id_with_a_yes_to_check_is_a_lookup(chat: Chat) -> None:
    chat.say("阮阿妈上礼拜跋倒报了案，阮阿爸上个月才满60岁，伊有无在这个保险里？")
    chat.say(f"伊叫蔡永利，身份证号码{ID_Q}，同意你们查")
    assert chat.flow() != "claim_report"


def test_a_relative_correction_with_a_helper_named_later(chat: Chat) -> None:
    chat.say("阿公跋倒住院了，要报案，阿公叫杨永福")
    chat.say("唔是唔是，讲错，是阿嬷跋倒，阿公陪伊去医院。阿嬷叫朱少英")
    assert chat.frame_data("relation") == "grandmother"


def test_a_tricycle_that_overturned_is_traffic_and_a_push_into_a_pillar_a_collision(chat: Chat) -> None:
    chat.say("阮阿公阿嬷今旦坐电动三轮车去市场，车在路口翻去，两个都受伤，要报案")
    assert chat.frame_data("accident") == "traffic"
    chat.forget_state()
    chat.say("阮阿公拜老爷人太多被人挤到撞在石柱上，肋骨断了，要报案")
    assert chat.frame_data("accident") == "collision"


def test_three_months_after_a_fall_the_death_is_told_the_180_day_rule(chat: Chat) -> None:
    reply = chat.say("阮阿爸九月六号跋倒，一直卧床，前日过身了。隔了两个多月，这样还算意外身故吗？")
    assert text("death_review", days=180, amount=3000).render(chat) in reply


def test_a_booked_visit_cancelled_in_chat_with_a_question_beside_it(chat: Chat, db: Session) -> None:
    from backend.complaints.models import HomeVisit

    chat.say("阮阿妈行唔动 可以派人来厝里收材料吗 阮住仙城")
    chat.say("电话是15876203319")
    reply = chat.say("等一下 唔使来了 阮仔自己拿去网点 网点礼拜六有开吗")
    assert reply.startswith(text("hv_cancelled").render(chat))
    assert text("ct_hours", open="09:00", close="17:00").render(chat) in reply
    [visit] = db.scalars(select(HomeVisit).where(HomeVisit.openid == chat.user))
    assert visit.state == "cancelled"


def test_someone_asking_to_pay_first_is_warned_before_anything_else(chat: Chat) -> None:
    reply = chat.say("有人打电话讲我的赔款还有五百元未领 要先转一百元手续费 到一个账户")
    assert reply.startswith(text("cc_no_fees").render(chat))
    assert chat.flow() == "complaint"


def test_a_household_in_the_district_and_an_age_are_told_they_are_covered(chat: Chat) -> None:
    chat.say("想查一下我阿公有没有这个保险")
    reply = chat.say("户口在潮南陈店 今年78岁")
    assert reply.startswith(text("elig_old_enough", age=78, district="潮南区").render(chat))


def test_a_complaint_with_questions_beside_it_keeps_going(chat: Chat, db: Session) -> None:
    from backend.complaints.models import Complaint

    reply = chat.say("今早去你们办事处交材料，那个柜员讲话好难听，我要投诉。还有，办事处几点关门？")
    assert text("ct_hours", open="09:00", close="17:00").render(chat) in reply
    reply = chat.say("对，投诉那个柜员。还有阿妈的材料交了几时会审好？")
    assert reply.startswith(Faq("claim_timeline").render(chat))
    chat.say("回电打我18927305164")
    assert len(list(db.scalars(select(Complaint).where(Complaint.openid == chat.user)))) == 1


def test_a_question_beside_an_answer_in_a_report_is_answered(chat: Chat) -> None:
    reply = chat.say("阿公昨日在巷口跋倒住院，伊叫陈炳坤，住院一日几多钱")
    assert reply.startswith(Faq("hospital_allowance").render(chat))
    chat.talk("同意", ID_Q)
    reply = chat.say("在两英医院。还有要准备乜材料？")
    assert chat.frame_data("hospital") == "两英医院"
    assert reply.endswith(text("cr_ask_phone").render(chat))
    assert "医疗费用明细清单" in reply


def test_a_death_after_a_report_made_by_phone_gets_sorrow_and_its_documents(chat: Chat) -> None:
    reply = chat.say("阮阿爸上礼拜一跋倒，礼拜二已经打电话报了案，礼拜六人走了")
    assert reply.startswith(text("condolence").render(chat))
    reply = chat.say("过身的事我已经打电话同你们的人讲过了，伊叫我来这里问要准备乜材料")
    assert chat.flow() != "complaint"
    assert "死亡证明" in reply and "户口注销证明" in reply
