"""What the ninth blind author's conversations taught (issue 11, set I): a very old writer's 阮 is
"me", and the name is asked as theirs; a few words of the story sent where the name was asked (脚痛,
厝里) are kept, not refused; names come before a title (林淑贞阿姨), after a kin word of Teochew (阿爸,
阮翁) or in "我是王金花的外孙女"; the accident of a death is the earlier, lunar day (上个月廿三跋倒 … 前日走
的); a correction of the day keeps who was hurt; a whole report in one message with two questions is
answered and started; "对" to "要报案，请回复1" starts it. NOW is Saturday 21 November 2026 (lunar
十月十三)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.models import Claim
from tests.bot.dialogue.conftest import Chat, make_id

ID_F = make_id("19430404", "064")  # a woman
ID_M = make_id("19500312", "013")  # a man


def test_a_teochew_me_is_the_writer_and_story_words_at_the_name_question_are_kept(chat: Chat) -> None:
    chat.say("跋倒")
    reply = chat.say("阮")
    assert reply == chat.engine.copy.t("cr_ask_name_self")  # 您的姓名, not 受伤老人的姓名
    for story in ("脚痛", "前晡", "厝里"):
        reply = chat.say(story)
        assert reply.startswith(chat.engine.copy.t("noted"))  # kept, and not a failed answer
        assert chat.engine.copy.t("cr_bad_name_self") not in reply
    frame = chat.state().frame
    assert frame is not None and "脚痛" in frame.data["description"] and frame.data.get("tries") is None
    assert chat.state().notes.get("date") == "2026-11-19"  # 前晡 = the day before yesterday
    chat.say("郑玉钗")
    assert chat.frame_secret("name") == "郑玉钗" and frame.data.get("relation") == "self"


def test_names_before_a_title_after_a_teochew_kin_word_and_in_whose_grandchild_i_am(chat: Chat) -> None:
    extract = chat.engine.services.extract
    assert extract.name("我阿爸黄炳坤，今年74岁") == "黄炳坤"
    assert extract.name("阮翁马振财，七十六岁") == "马振财"
    assert extract.name("我是她的邻居 林淑贞阿姨昨天在菜市场摔到了") == "林淑贞"
    assert extract.name("您好，我是王金花的外孙女。我外婆今年83岁") == "王金花"
    assert extract.name("我阿姨昨天跋倒") is None and extract.name("阿爸今年七十四") is None


def test_a_death_after_a_lunar_day_accident_keeps_the_accident_day(chat: Chat) -> None:
    chat.say("阿公走了")
    chat.say("上个月廿三在厝里冲凉跋倒，头撞到地，送去潮南民生医院住了一个月，前日走的")
    notes = chat.state().notes
    assert notes.get("date") == "2026-11-01" and notes.get("date_lunar")  # 农历九月廿三, not 前日


def test_a_corrected_day_at_the_confirmation_keeps_who_was_hurt(chat: Chat) -> None:
    chat.talk("报案", "我家婆跋倒", "初三去拜老爷，地下滑", "在司马浦镇卫生院打石膏", "周月娥")
    assert chat.say("我是伊新妇").startswith(chat.engine.copy.t("noted"))
    chat.talk("同意", ID_F, "17820316695")
    frame = chat.state().frame
    assert frame is not None and frame.step == "confirm"
    relation = frame.data["relation"]
    assert relation != "self"
    chat.say("日期唔着，唔是初三，是十月初一，初一去拜老爷跋倒个")
    frame = chat.state().frame
    assert frame is not None and frame.data["relation"] == relation and frame.data["date"] == "2026-11-09"


def test_a_whole_report_with_two_questions_is_answered_and_started(chat: Chat, db: Session) -> None:
    reply = chat.say(f"您好，我是王金花的外孫女。我外婆今年83歲。農曆十月初十晚上她在浴室滑倒，右邊大腿骨折，"
                     f"當晚送到潮南民生醫院，到現在還在住院。她的身分證號碼是{ID_F}，我的電話是19924683015。"
                     "請問要準備什麼材料？住院津貼怎麼算？")
    assert "明细清单" in reply and "30元" in reply  # both questions answered
    frame = chat.state().frame
    assert frame is not None and frame.flow == "claim_report" and frame.step == "consent_id_number"
    chat.say("同意")  # the number sent before the consent is used now, not asked again
    frame = chat.state().frame
    assert frame is not None and frame.step == "confirm" and chat.frame_secret("id_number") == ID_F
    assert frame.data["relation"] == "grandmother" and chat.frame_secret("name") == "王金花"
    chat.say("對")
    [claim] = db.scalars(select(Claim).where(Claim.reporter_openid == chat.user)).all()
    assert claim.accident_date.isoformat() == "2026-11-18"  # 农历十月初十


def test_a_yes_to_the_report_offer_starts_it_and_a_held_number_waits_for_the_consent(chat: Chat) -> None:
    chat.say(f"我爸前几天坐大巴回峡山，路上大巴跟货车撞了，他没抢救过来，身份证{ID_M}，想问问怎么办")
    assert chat.state().choice == {"kind": "intent", "options": ["claim_report"]}  # offered
    assert ID_M not in str(chat.state().notes)  # the number is held encrypted, nowhere in clear
    chat.say("对")
    frame = chat.state().frame
    assert frame is not None and frame.flow == "claim_report" and frame.step == "name"
    chat.say("马永强")
    frame = chat.state().frame
    assert frame is not None and frame.step == "consent_id_number"
    assert "id_number" not in frame.secret  # not used before the customer agrees
    chat.say("同意")
    assert chat.frame_secret("id_number") == ID_M  # and not asked again


def test_a_no_to_the_consent_drops_the_number_held_from_the_story(chat: Chat) -> None:
    chat.say(f"我爸前几天坐大巴回峡山，路上大巴跟货车撞了，他没抢救过来，身份证{ID_M}，想问问怎么办")
    chat.talk("好的", "马永强", "不同意")
    frame = chat.state().frame
    assert frame is not None and "id_number" not in frame.secret
    held = (*frame.secret, *chat.state().secret)
    assert not any("id" in k for k in held), held


def test_a_complaint_said_in_so_many_words_is_one_and_its_story_does_not_start_a_visit(chat: Chat) -> None:
    chat.say("我要投訴。我母親的理賠上個禮拜一就說審核通過了，到現在還沒收到。")  # the model is unsure
    frame = chat.state().frame
    assert frame is not None and frame.flow == "complaint"
    chat.forget_state()
    chat.say("投诉！约好今天上午上门帮我阿爸办理赔，等了一天都没人来")
    chat.say("我阿爸88岁行唔动，我专门请假在家等")  # the model reads a visit: the complaint's story
    frame = chat.state().frame
    assert frame is not None and frame.flow == "complaint"


def test_a_story_told_after_the_complaint_offer_is_the_complaint(chat: Chat) -> None:
    chat.say("怎样投诉？")
    chat.say("前几日你们有人来厝里讲是回访，结果一直推销健康险，阮阿妈吓到以为政府个保险无了")
    frame = chat.state().frame
    assert frame is not None and frame.flow == "complaint"
    assert not chat.state().notes.get("death")  # 保险无了: the insurance, not a person


def test_anyone_there_first_is_a_greeting_and_a_visit_keeps_its_purpose_and_a_bare_town(chat: Chat) -> None:
    reply = chat.say("人呢")
    assert chat.state().notes.get("handoff") is None and chat.engine.copy.t("menu") in reply
    chat.say("来厝")
    frame = chat.state().frame
    assert frame is not None and frame.flow == "home_visit" and frame.step == "address"
    for purpose in ("交材料", "阮住院个"):  # why the visit, where the address was asked
        assert chat.say(purpose).startswith(chat.engine.copy.t("noted"))
        frame = chat.state().frame
        assert frame is not None and frame.flow == "home_visit" and frame.step == "address"
    assert "交材料" in frame.data["purpose"]
    chat.say("峡山桃溪")  # a town of the district: the address, checked by the staff on the phone
    frame = chat.state().frame
    assert frame is not None and frame.step == "phone" and chat.frame_secret("address") == "峡山桃溪"


def test_a_visit_asked_with_a_claim_is_the_visit(chat: Chat) -> None:
    chat.say("您好，我母親今年91歲，行動不便，上個月在家跌倒住過院，想申請理賠，但她沒辦法去營業點，可以派人到家裡嗎？")
    frame = chat.state().frame
    assert frame is not None and frame.flow == "home_visit"


def test_a_scared_child_alone_in_an_emergency_gets_a_person(chat: Chat) -> None:
    chat.talk("救命 阿公从楼梯跋落来 头流血 唔会动了", "打了打了 120讲马上来")
    reply = chat.say("你们有没有人可以讲话 我好惊")
    assert chat.state().notes.get("handoff") and "打120" not in reply  # 120 is on its way already


def test_three_questions_in_one_message_are_each_answered(chat: Chat) -> None:
    reply = chat.say("想问下，老人家意外去世的话，赔几多钱？要准备乜材料？几耐可以拿到钱？")
    assert "3000" in reply and "死亡证明" in reply and "3个工作日" in reply
    assert chat.state().choice is None  # no follow-up offered for what was answered


def test_two_stays_told_as_first_and_second_time_are_summed(chat: Chat) -> None:
    reply = chat.say("阮阿公今年跋倒骨折住了两次院，第一次95日，第二次100日，住院津贴总共有几多？")
    assert "5400" in reply
