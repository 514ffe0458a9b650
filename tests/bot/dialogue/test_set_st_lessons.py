"""What sets S and T (two more blind authors: 25 and 33 of 40 at first sight) taught, in new sentences of
the same kinds: festival days (清明, 冬节, 七月半) are the accident's day; a station is a place, not a ride;
a name after 全名 / 名系, a whole name correcting a misheard one, 我自己报 as "it is me"; more of the
accident after the offer of a report starts it, without the sorrow and the sum twice; a change asked for a
claim named by its case number is recorded for staff without the ID; 著 alone is yes. NOW is Saturday
21 November 2026."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.handoff.models import HandoffRequest
from backend.handoff.service import read_payload
from backend.handoff.workitems import what_they_said
from tests.bot.dialogue.conftest import Chat, make_id, text

ID_S = make_id("19480302", "051")


def _requests(chat: Chat, db: Session) -> list[HandoffRequest]:
    return list(db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user,
                                                        HandoffRequest.reason == "info_update")))


def test_a_festival_day_is_the_accident_day(chat: Chat) -> None:
    chat.say("阮阿爸今年清明去山顶拜墓，落山个时候跋倒，脚骨断，住潮南区人民医院")
    assert chat.state().notes["date"] == "2026-04-05"  # 清明 2026: 5 April
    chat.forget_state()
    chat.say("阮阿妈七月半拜老爷，厝里滚水烫着脚，去医院住了几日")
    assert chat.state().notes["date"] == "2026-08-27"  # 农历七月十五


def test_a_station_is_a_place_not_a_ride(chat: Chat) -> None:
    chat.say("我爸在火车站的楼梯上滑倒了，头撞到，在汕头住院")
    assert chat.state().notes.get("accident") == "fall"
    assert "transport" not in chat.state().notes


def test_names_after_full_name_words_and_a_whole_name_correcting_a_misheard_one(chat: Chat) -> None:
    chat.say("阮阿嬷昨日在厝里跋倒 住院了")
    chat.say("伊身份证上个名係：吴秀娥")
    assert chat.frame_secret("name") == "吴秀娥"
    chat.forget_state()
    chat.say("阿公昨日跋倒 住院了")
    chat.say("伊叫王振南")
    chat.say("唔是王，是三点水个汪，汪振南")
    assert chat.frame_secret("name") == "汪振南"


def test_i_report_it_myself_answers_who(chat: Chat) -> None:
    chat.say("你好，昨日早起骑车去田里，车倒落去，脚骨断，现在住院")
    if chat.frame_data("relation") is None:
        chat.say("阮自己报。陈永福，六十八岁")
    assert chat.frame_data("relation") == "self"
    assert chat.frame_secret("name") == "陈永福"


def test_more_of_the_accident_after_the_offer_starts_the_report_without_saying_it_all_again(
        chat: Chat) -> None:
    first = chat.say("阮阿爸前日坐大巴出车祸走了，你们保险怎么赔")
    assert first.startswith(text("condolence").render(chat))
    second = chat.say("伊坐的是去汕头个大巴，同货车相撞，当场就无了")
    assert chat.flow() == "claim_report"
    assert text("condolence").render(chat) not in second
    assert "30000" not in second  # the sum was just said


def test_a_new_phone_for_a_claim_named_by_its_case_number_needs_no_id(chat: Chat, db: Session) -> None:
    reply = chat.say("阿公个理赔案件号2026091500217，旧电话唔用了，改成新号码13926653108")
    assert "139****3108" in reply and chat.flow() == "info_update"  # the new number, to confirm
    chat.say("1")
    rows = _requests(chat, db)
    assert len(rows) == 1
    payload = read_payload(rows[0], cipher=chat.engine.runtime.cipher)
    assert payload["value"] == "13926653108" and payload["case_no"] == "2026091500217"
    # the agent's to-do list shows the claim named, to look it up
    assert "案件号 2026091500217" in what_they_said(rows[0], cipher=chat.engine.runtime.cipher)


def test_a_lost_card_for_a_claim_named_by_its_number_is_one_request_checked_by_phone(
        chat: Chat, db: Session) -> None:
    chat.say("阿妈理赔钱要打去个存折唔见了")
    assert chat.flow() == "info_update"
    reply = chat.say("报案号是2026100312345")
    assert reply.startswith(text("iu_card_by_case", number=_requests(chat, db)[0].id).render(chat))
    chat.say("新卡是农商银行，卡号6217001234567890123")
    assert len(_requests(chat, db)) == 1  # the card number sent anyway is the same request


def test_a_phone_broken_in_water_and_a_new_number_is_an_update_not_an_accident(chat: Chat) -> None:
    chat.say("阮个手机落水坏了，换了一个新号码，你们打唔通")
    assert chat.flow() == "info_update"


def test_a_move_told_after_an_unknown_case_number_keeps_the_number(chat: Chat, db: Session) -> None:
    chat.say("你好 阿公的理赔 案件号2026110712345")
    chat.say("伊搬去阮阿姑厝住了，以后信寄新地址")
    chat.say("两英镇古溪村新区三巷6号")
    rows = _requests(chat, db)
    assert len(rows) == 1
    assert read_payload(rows[0], cipher=chat.engine.runtime.cipher)["case_no"] == "2026110712345"


def test_teochew_yes_alone_confirms(chat: Chat) -> None:
    chat.talk("我妈昨天在家摔倒住院了", "张秀英", "1", ID_S, "没有", "13812345678")
    reply = chat.say("著")
    assert reply.startswith(text("cr_done", case_no=chat.state().claim["case_no"]).render(chat))


def test_how_do_i_report_after_the_offer_starts_the_report(chat: Chat) -> None:
    chat.say("问下阮阿爸上礼拜在市场被摩托车撞到，脚骨折，这个可以赔吗？")
    assert chat.state().choice == {"kind": "intent", "options": ["claim_report"]}
    chat.say("还未报，要怎么报")
    assert chat.flow() == "claim_report"


def test_never_reported_inside_a_report_is_no_progress_question(chat: Chat) -> None:
    chat.say("阮阿妈前日在厝跋倒，送去医院，今早走了")
    reply = chat.say("之前无报过案，那时候顾唔着")
    assert chat.flow() == "claim_report"
    assert reply.startswith(text("cr_going_on").render(chat))


def test_denying_the_cause_does_not_move_the_accident_day(chat: Chat) -> None:
    chat.say("阮阿公昨日走了")
    chat.say("唔是病，伊是11月2号在厝里跋倒，头撞到，一直住院，昨日走的")
    assert chat.state().notes["date"] == "2026-11-02"


def test_a_jab_at_a_community_health_centre_is_an_outpatient_visit_there(chat: Chat) -> None:
    chat.talk("阮阿嬷上礼拜三被狗咬到脚 要报案", "伊叫林玉珠", "同意", ID_S)
    chat.say("在两英镇社区卫生服务中心打的针")
    assert chat.frame_data("claim_type") == "hospital_allowance"
    assert chat.frame_data("stay") is False
    assert chat.frame_data("hospital") == "两英镇社区卫生服务中心"


def test_how_to_hand_in_the_documents_beside_a_name_is_answered(chat: Chat) -> None:
    chat.say("阮隔壁阿伯昨日在厝跋倒，住潮南区人民医院")
    reply = chat.say("伊叫郑木水，伊无智能手机，材料做呢交？")
    assert chat.frame_secret("name") == "郑木水"
    assert "上门" in reply and "邮寄" in reply  # the ways to hand them in, not only the list


def test_an_old_fall_and_someone_in_bed_is_no_emergency_and_a_visit_is_booked(chat: Chat) -> None:
    reply = chat.say("阮大官前阵子跋倒，腰骨伤着，现在倒在眠床起唔来")
    assert not reply.startswith(text("emergency").render(chat))
    assert chat.state().notes.get("relation") == "other_relative"
    chat.say("恁有上门服务无？阮日时要做工")
    assert chat.flow() == "home_visit"


def test_a_visit_asked_during_an_emergency_ends_the_emergency_advice(chat: Chat) -> None:
    assert chat.say("阿公跋倒了 起唔来").startswith(text("emergency").render(chat))
    reply = chat.say("听讲恁有上门服务？")
    assert not reply.startswith(text("emergency_again").render(chat))
    assert "48小时内上门" in reply  # the visit's rules, with the booking offered
    assert "emergency" not in chat.state().notes


def test_when_the_money_comes_after_approval_gets_the_days_first(chat: Chat) -> None:
    reply = chat.say("阿妈个配款审核通过了，几时会到账？")
    assert "个工作日内到账" in reply
    reply = chat.say("阿爸个赔款讲审核通过了，想问几时会到，案件号无带在身边")
    assert "个工作日内到账" in reply


def test_slipped_on_a_wet_floor_in_teochew_is_a_fall(chat: Chat) -> None:
    chat.say("阮阿嬷今早在宫前溜倒，手骨断，住院了")
    assert chat.state().notes.get("accident") == "fall"
