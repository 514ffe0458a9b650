"""What sets O and P (two more blind authors: 24 and 34 of 40 at first sight) taught, in new sentences
of the same kinds: a yes to the ID number said in words beside the number; stroke signs and "要不要打
120" answered first; a phone number is no case number; 饮醉 is drunk; a day said after an emergency is
the accident's day; a name or an ID number sent in two pieces; a relative who helps is not the one
hurt; the year's cap and a second stay told later; after hours the bot takes a clear request from the
queue. NOW is Saturday 21 November 2026, 10:00 in Shantou (after hours for people)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.complaints.models import PURPOSE_COMPLAINT_PHONE, Complaint
from backend.privacy.service import has_consent
from tests.bot.dialogue.conftest import Chat, Faq, make_id, render, text

ID_O = make_id("19500314", "152")


def test_a_yes_in_words_beside_the_id_number_is_the_consent(chat: Chat, db: Session) -> None:
    chat.say("阮阿爸前日在市场被摩托车撞倒 在峡山医院住院 要报案")
    reply = chat.say(f"伊叫陈锦河 身份证号恁要用就用 {ID_O}")
    assert reply.startswith(text("consent_early_ok", text=_consent_text()).render(chat))
    assert has_consent(db, category="id_number", channel=chat.channel, user_id=chat.user)
    assert chat.frame_secret("id_number") == ID_O and chat.frame_secret("name") == "陈锦河"


def test_the_name_after_a_label_and_a_yes_for_the_number_sent_just_before(chat: Chat, db: Session) -> None:
    chat.say("阿妈上礼拜在厝门口被电动车撞倒 在民生医院住院")
    chat.say(f"伊的资料：方秀云 {ID_O}")
    assert chat.frame_secret("name") == "方秀云"
    assert not has_consent(db, category="id_number", channel=chat.channel, user_id=chat.user)
    chat.say("可以 用来报案没问题")
    assert has_consent(db, category="id_number", channel=chat.channel, user_id=chat.user)
    assert chat.frame_secret("id_number") == ID_O


def test_stroke_signs_and_the_question_of_calling_120_come_first(chat: Chat) -> None:
    assert chat.say("阮老伴头先在灶脚跋落去 讲话讲唔清楚 嘴歪歪") == render(chat, text("emergency"))
    assert chat.say("要不要打120 还是我自己载伊去医院") == render(chat, text("emergency_again"))
    assert chat.say("好好 我打") == render(chat, text("emergency_waiting"))
    chat.forget_state()
    assert chat.say("阮翁昨暝跋倒撞着头 今旦一直吐") == render(chat, text("emergency"))
    assert chat.say("我先带伊去医院 报案迟一下可以无") == render(chat, text("emergency_later"))


def test_a_phone_number_in_an_angry_message_is_no_case_number(chat: Chat, db: Session) -> None:
    chat.say("阿妈的津贴早就讲审核通过了 到今日钱都没到 这样拖着像话吗 我要你们给我一个交代 13760591234")
    [complaint] = db.scalars(select(Complaint).where(Complaint.openid == chat.user))
    phone = chat.engine.runtime.cipher.decrypt(complaint.contact_phone_enc, purpose=PURPOSE_COMPLAINT_PHONE)
    assert phone == "13760591234"


def test_a_death_after_drinking_is_answered_with_sorrow_and_the_exclusion(chat: Chat) -> None:
    reply = chat.say("阮阿伯前日暝饮醉了 行路跋落水沟 人已经无了 这个保险有赔无")
    assert reply == render(chat, (text("condolence"), text("excl_drunk"), text("offer_report")))


def test_a_day_said_after_an_emergency_is_the_accidents_day(chat: Chat) -> None:
    chat.say("阮阿兄在市场门口跋倒 脚流血")  # an emergency: today, until a day is said
    chat.say("讲错了 唔是阿兄 是阮阿叔 伊叫王永福")
    chat.say("昨暝八点左右的事 在卫生院包扎了")
    assert chat.frame_data("date") == "2026-11-20"


def test_a_follow_up_naming_someone_old_enough_is_told_who_is_covered(chat: Chat) -> None:
    chat.say("住院津贴一日几多钱")
    reply = chat.say("那我阿婶呢 伊六十三")
    assert reply == render(chat, text("elig_old_enough", age=63, district="潮南区"))


def test_a_yes_no_question_with_a_stay_gets_the_sum_and_the_report_offered(chat: Chat) -> None:
    reply = chat.say("阿嬷跋倒在卫生院住了4日 有住院津贴无")
    assert reply.startswith(text("amt_allowance", days=4, amount=120, per_day=30, paid_days=4).render(chat))
    assert reply.endswith(text("offer_report").render(chat))


def test_a_name_sent_in_two_pieces(chat: Chat) -> None:
    chat.say("我妈摔倒了 在人民医院住院")
    reply = chat.say("我妈叫林")
    assert reply.startswith(text("cr_name_given", surname="林").render(chat))
    chat.say("秀英")
    assert chat.frame_secret("name") == "林秀英"


def test_an_id_number_begun_after_a_name_and_finished_in_the_next_message(chat: Chat) -> None:
    chat.say("阿嬷今早被狗咬了 在人民医院住院")
    chat.say(f"伊叫许亚妹 身份证 {ID_O[:10]}")
    chat.say(ID_O[10:])
    assert chat.frame_secret("id_number") == ID_O


def test_a_relative_who_helps_is_not_the_one_hurt(chat: Chat) -> None:
    chat.say("阿嬷在厕所跋倒 起唔来")
    chat.say("阿叔在打120了")
    chat.say("120送去民生医院了 我要给阿嬷报案 伊叫郑玉兰")
    chat.say("我是伊孙女 电话13826417735")
    assert chat.frame_data("relation") == "grandmother"


def test_the_years_cap_and_a_second_stay_told_later(chat: Chat) -> None:
    assert chat.say("住院津贴一年最多能领几多") == render(chat, text(
        "amt_year_max", max=5400, year_days=180, per_day=30, stay_days=90))
    chat.forget_state()
    chat.say("阿爸跌倒骨折 在中心医院住了100天 能拿几多")
    reply = chat.say("伊今年3月也跌倒住过一次院 30天")
    stays = "；".join(chat.engine.copy.t("amt_stay_counted", n=n, days=d, paid=p)
                     for n, d, p in ((1, 100, 90), (2, 30, 30)))
    assert reply.startswith(text("amt_allowance_list", stays=stays, cap=90, year_cap=180, per_day=30,
                                 paid_days=120, amount="3600").render(chat))


def test_when_after_the_documents_is_the_timeline(chat: Chat) -> None:
    reply = chat.say("之前讲要补材料 补了之后多久有结果")
    assert reply.startswith(Faq("claim_timeline").render(chat))


def test_after_hours_the_bot_takes_a_report_asked_for_from_the_queue(chat: Chat) -> None:
    assert chat.say("转人工") == render(chat, text("handoff_closed_hours", hours="11月23日8点半"))
    chat.say("怎么办")
    assert chat.say("120到了 送去潮南区人民医院") == ""  # the person's: nothing said twice
    chat.say("现在可以报案吗 我阿爸叫蔡国雄 68岁")
    assert chat.flow() == "claim_report"
    assert chat.frame_data("hospital") == "潮南区人民医院" and chat.frame_secret("name") == "蔡国雄"


def _consent_text() -> str:
    from backend.privacy.service import consent_config

    return consent_config().texts["id_number"].text
