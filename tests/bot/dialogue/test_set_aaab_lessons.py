"""What sets AA and AB (two more blind authors: helpers speaking for the very old, 28/40 at first sight;
doubts and the edges of the cover, 31/40) and the last failures of Y and Z taught, in new sentences of
the same kinds. NOW is Saturday 21 November 2026, 10:00 (outside the office hours)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.bot.dialogue.conftest import Chat, Faq, make_id, render, text
from tests.bot.dialogue.test_set_yz_lessons import _requests


# -- who was hurt ---------------------------------------------------------------------------------------
def test_a_name_said_in_english_with_the_age_after_it(chat: Chat) -> None:
    chat.say("my mum fell at home yesterday, in hospital now")
    chat.say("Her name is 黄秀兰, 81")
    assert chat.frame_secret("name") == "黄秀兰"


def test_a_traditional_surname_and_a_stop_character_inside_a_name(chat: Chat) -> None:
    chat.say("阿嬤琴日喺屋企跌親 入咗醫院")
    chat.say("佢叫蕭美玲 80歲")
    assert chat.frame_secret("name") == "萧美玲"
    chat.forget_state()
    chat.say("阿伯昨日在田头跋倒")
    chat.say("伊叫陈来顺 八十岁")
    assert chat.frame_secret("name") == "陈来顺"


def test_report_this_one_first_names_who_this_report_is_for(chat: Chat) -> None:
    chat.say("阿公阿嬷坐三轮车去菜市场 被小车撞倒 两个都受伤")
    chat.say("先报阿嬷这个 阿公那个我阿叔会报")
    assert chat.frame_data("relation") == "grandmother"
    chat.say("三轮车是阿公自己的 唔是营运的")  # a vehicle corrected, not who was hurt
    assert chat.frame_data("relation") == "grandmother"


def test_told_to_report_first_is_who_sent_the_writer_not_who_was_hurt(chat: Chat) -> None:
    chat.say("阿嬷跋倒了 在医院 我阿叔叫我先报案")
    assert chat.state().notes.get("relation") == "grandmother"


def test_this_time_a_neighbour_and_the_last_claims_accident_is_not_this_ones(chat: Chat) -> None:
    chat.say("我上次帮我老公报过案")
    chat.say("今次是隔壁的阿婶 伊仔女都在外地")
    assert chat.state().notes.get("relation") == "non_relative"
    chat.forget_state()
    chat.say("阮上回报过自己跋倒 这回是阮老伴")
    chat.say("伊今早煮饭 滚水烫到脚")
    assert chat.state().notes.get("accident") == "burn"


def test_someone_of_the_village_found_in_a_pond_is_not_the_writer(chat: Chat) -> None:
    chat.say("阮村有个孤寡阿伯 前日跋落鱼池 昨日才被人发现 已经过身了")
    notes = chat.state().notes
    assert notes.get("relation") == "non_relative" and notes.get("accident") == "drowning"


# -- days --------------------------------------------------------------------------------------------
def test_the_day_in_chinas_time_given_by_a_relative_abroad(chat: Chat) -> None:
    chat.say("阿嫲坐公車同貨車撞咗")
    chat.say("我哋呢邊係18號夜晚 你哋嗰邊應該19號朝早")
    assert chat.frame_data("date") == "2026-11-19"


def test_is_lunar_said_alone_makes_the_day_told_a_lunar_one(chat: Chat) -> None:
    chat.say("我阿妈10月8号在厝跋倒 送去医院了")
    chat.say("是农历")
    notes = chat.state().notes
    assert notes.get("date") == "2026-11-16" and notes.get("date_lunar")


def test_the_day_of_the_fall_in_a_message_that_also_tells_the_discharge(chat: Chat) -> None:
    chat.say("我阿爸跋倒住院过 早就出院了 现在还能报吗")
    chat.say("是9月6号跋倒的 当天住进医院 出院小结写住了15天")
    assert chat.state().notes.get("date") == "2026-09-06"


# -- money and cover ---------------------------------------------------------------------------------
def test_how_much_alone_is_the_overview_not_the_death_benefit(chat: Chat) -> None:
    assert chat.say("能赔多少").startswith(render(chat, Faq("coverage_overview")))


def test_how_much_after_a_death_on_a_bus_is_that_benefit(chat: Chat) -> None:
    chat.say("阿叔坐班车去汕头 车翻了 人没了")
    assert "30000元" in chat.say("这样能赔多少")


def test_only_when_someone_dies_is_a_rule_not_a_death(chat: Chat) -> None:
    chat.say("阿公昨日坐的士 的士被电动车撞 阿公受伤")
    chat.say("哦 过身才有 那住院有补贴吗")
    assert not chat.state().notes.get("death")


def test_fifty_eight_is_told_plainly_before_any_report(chat: Chat) -> None:
    reply = chat.say("我今年58岁 昨天在厝跋倒 手肿了")
    assert reply == render(chat, text("elig_too_young", age=58, min_age=60, district="潮南区"))
    assert chat.flow() is None


def test_born_in_a_month_gives_the_day_the_cover_starts(chat: Chat) -> None:
    chat.say("我1967年5月出世的 差几个月就60")
    assert "2027年6月1日" in chat.say("那我几时开始有")


def test_a_registration_moved_in_and_one_to_be_moved(chat: Chat) -> None:
    chat.say("阮阿伯之前户口在深圳 这个月5号迁回潮南峡山了")
    assert "2026年12月1日" in chat.say("伊有这个保险吗")
    chat.forget_state()
    chat.say("我妈户口在普宁 跟我住在陈店")
    assert chat.say("那把户口迁过来以后呢").startswith(
        render(chat, text("cov_after_move", district="潮南区", age=60)))


def test_a_birthday_told_after_turning_sixty_was_talked_of(chat: Chat) -> None:
    chat.say("我上个月才满60 有这个保险了吗")
    assert chat.say("我10月9号生日") == render(chat, text(
        "cov_start_day", month=10, day=9, age=60, start="2026年11月1日"))


# -- requests and turns of the talk -----------------------------------------------------------------
def test_asking_to_be_phoned_is_a_person_but_slow_typing_or_a_story_is_not(chat: Chat, db: Session) -> None:
    chat.say("我打字慢，请见谅")
    assert [r for r, _, _ in _requests(chat, db)] == []
    chat.say("有人打电话给我阿妈 讲要先交手续费")
    assert [r for r, _, _ in _requests(chat, db)] == []
    chat.forget_state()
    chat.say("阮唔会打字 你们打电话给我好吗")
    assert [r for r, _, _ in _requests(chat, db)] == ["asked"]


def test_a_new_phone_for_a_claim_reported_before_told_by_name(chat: Chat, db: Session) -> None:
    chat.say("阿公的电话换了 要改")
    chat.say("新号 13912345678")
    chat.say("阿公叫李炳南 伊之前报过案")
    reasons = [r for r, _, _ in _requests(chat, db)]
    assert reasons == ["info_update", "asked"]  # recorded, and a person checks who asks
    [(_, _, payload)] = [r for r in _requests(chat, db) if r[0] == "info_update"]
    assert payload["value"] == "13912345678"


def test_reporting_after_all_once_the_report_was_dropped(chat: Chat) -> None:
    chat.say("阮老公昨暗食酒转来 在楼梯跋倒 脚骨折")
    chat.say("算了 唔报了")
    assert chat.flow() is None
    chat.say("阮仔讲还是要报")
    assert chat.flow() == "claim_report"


def test_a_sting_told_by_a_son_in_law_is_a_report(chat: Chat) -> None:
    chat.say("你好 丈母娘上山摘果被黄蜂叮了 规个面肿起来")
    assert chat.flow() == "claim_report"


def test_which_papers_asked_at_the_name_question_of_a_death(chat: Chat) -> None:
    chat.say("我阿爸上个月在厝跋倒 后来过身了 还没报案")
    assert "死亡证明" in chat.say("要报案的话要准备什么")


def test_a_remark_at_the_confirmation_does_not_resend_the_whole_summary(chat: Chat) -> None:
    chat.talk("我妈昨天在家摔倒住院了", "张秀英", "1", make_id("19450301"), "潮南区人民医院", "13800138000")
    assert chat.say("人清醒 无生命危险") == render(chat, (text("noted"), text("cr_confirm_again")))


# -- sets AD and AE: grievances in a report, complaints' own rules, money after the claim ----------------
def test_a_grievance_in_a_report_is_kept_and_filed_with_the_claim(chat: Chat) -> None:
    chat.say("阿公昨日在厝门口跋倒 送去潮南区人民医院住院")
    reply = chat.say("我打恁电话打了一日都无人接")
    assert reply.startswith(render(chat, text("cr_grievance_noted"))) and chat.flow() == "claim_report"
    chat.talk("阿公叫黄德顺 我是伊孙", "同意", make_id("19400301", "311"), "13800138000")
    assert "投诉编号" in chat.say("对")


def test_how_a_complaint_is_made_and_answered(chat: Chat) -> None:
    assert render(chat, Faq("complaint_process")) in chat.say("请问如果要投诉的话 是去哪里投诉")
    assert chat.say("投诉了多久会有回复").startswith(render(chat, Faq("complaint_process")))


def test_a_complaint_that_asks_for_someone_in_charge_gets_a_person(chat: Chat, db: Session) -> None:
    chat.say("你们的人态度太差 我要投诉")
    chat.say("叫你们负责人打给我 13800138000")
    assert [r for r, _, _ in _requests(chat, db)] == ["angry"]


def test_what_is_left_of_the_year_after_a_stay_already_paid(chat: Chat) -> None:
    chat.say("阿妈今年三月跋倒住了60日 那个津贴已经赔了")
    assert "还能算120天" in chat.say("今年还有几多日")


def test_a_stay_told_after_the_allowance_papers_gets_its_sum(chat: Chat) -> None:
    chat.say("阿爸住院那个津贴要交乜材料")
    assert chat.say("伊已经出院了 住了10日").startswith("住院10天，能领300元")
    assert chat.flow() is None


def test_turning_sixty_in_a_month_gives_the_day_the_cover_starts(chat: Chat) -> None:
    chat.say("我阿爸今年9月刚满60 户口在峡山")
    assert "2026年10月1日" in chat.say("从几时开始保")


def test_a_name_corrected_in_the_same_message_and_a_rule_is_no_hospital(chat: Chat) -> None:
    chat.say("阿爸前日在厝浴室跋倒 住在两英镇卫生院")
    chat.say("卫生院住院有补贴吗 听讲要二级医院")
    assert chat.state().notes.get("hospital") == "两英镇卫生院"
    chat.say("伊叫林锦标 哦唔是 林锦彪")
    assert chat.frame_secret("name") == "林锦彪"


def test_a_frozen_card_changed_to_a_daughters_card_is_a_bank_account_change(chat: Chat) -> None:
    chat.say("阿妈的卡被冻结了 能唔能改成打去我的卡")
    assert chat.flow() == "info_update" and chat.frame_data("field") == "bank_account"


def test_a_greeting_in_front_of_a_question_is_not_small_talk(chat: Chat) -> None:
    assert chat.say("你好 请问阮阿妈住院一日有几多钱").startswith(render(chat, Faq("hospital_allowance")))


# -- set AC: the places and days as people say them --------------------------------------------------------
def test_a_place_of_care_said_short_keeps_the_words_and_gains_its_official_name(chat: Chat) -> None:
    chat.say("阿爸前日跋倒 住在汕大一附院")
    assert chat.state().notes.get("hospital") == "汕大一附院（汕头大学医学院第一附属医院）"
    chat.forget_state()
    chat.say("阿嬷昨日跋倒 送去陈店卫生院")
    assert chat.state().notes.get("hospital") == "陈店卫生院（陈店镇卫生院）"
    chat.forget_state()
    chat.say("阿公昨日跋倒 住在潮阳区人民医院")
    assert chat.state().notes.get("hospital") == "潮阳区人民医院"


def test_a_day_said_twice_once_the_lunar_way_is_that_day(chat: Chat) -> None:
    chat.say("阿嬷前日 十月十一 在厝跋倒")
    notes = chat.state().notes
    assert notes.get("date") == "2026-11-19" and notes.get("date_lunar")
