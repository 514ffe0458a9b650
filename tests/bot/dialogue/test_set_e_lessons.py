"""What a fifth blind author's conversations taught (issue 11, set E): who the writer says they are
corrects who was hurt (我是伊查某囝), 阿妈 is a mother, a name spelled out after voice input wins over
the homophone, 农历上个月廿八 is a lunar day, 唔使转人工 asks for no person, a phone changed after a visit
was booked is the number the staff call, and a contact change with no number yet is an update request.
Each conversation drives the entry points the webhook uses (``conftest.Chat``) and compares whole
replies with the copy file."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.complaints.models import PURPOSE_VISIT_PHONE, HomeVisit
from backend.handoff.models import HandoffRequest
from bot.dialogue.copy import Copy
from bot.dialogue.state import SecretBox
from tests.bot.dialogue.conftest import Chat, Choices, consent, render, sends, text, verify_dialog

RELATIONS = Choices("cr_ask_relation", tuple(str(o["label"]) for o in Copy.load().table("relation_choices")))


def test_the_writer_saying_she_is_the_daughter_makes_the_insured_her_mother(chat: Chat) -> None:
    chat.talk("你好，我要报案", "阮阿妈前日在厝冲凉跋倒，髋骨裂了")
    assert chat.state().notes.get("relation") == "mother"  # 阿妈: a mother, as every author writes it
    chat.forget_state()
    chat.talk("你好，我要报案", "阮阿嬷前日在厝冲凉跋倒")
    assert chat.state().notes.get("relation") == "grandmother"
    verify_dialog(chat, [("我是伊查某囝，就是女儿", (text("noted"), text("cr_ask_name")))])
    assert chat.state().notes.get("relation") == "mother"


def test_a_spelled_out_name_wins_over_the_voice_homophone(chat: Chat) -> None:
    chat.talk("我老爸昨天下午被隔壁的狗咬了脚，要报案")
    verify_dialog(chat, [("他叫郑炳昆 耳东郑 火字旁的炳 坤是土字旁的坤", consent("id_number"))])
    frame = chat.state().frame
    assert frame is not None and SecretBox(chat.engine.runtime.cipher).get(frame, "name") == "郑炳坤"


def test_last_lunar_month_and_a_passenger_hurt_in_a_bus_is_a_traffic_accident(chat: Chat) -> None:
    # NOW is 21 November 2026, lunar 十月十三: 农历上个月廿八 is 九月廿八, 6 November
    chat.say("阮阿公农历上个月廿八坐大巴，司机急刹，伊撞到前排椅背，断了肋骨")
    notes = chat.state().notes
    assert notes.get("date") == "2026-11-06" and notes.get("accident") == "traffic"


def test_no_person_wanted_is_not_a_handoff(chat: Chat, db: Session) -> None:
    chat.talk("我在厝里被吊扇掉下来砸到肩胛 昨天", "我叫肖丽娇")
    chat.say("唔使转人工，你帮我登记就好")
    assert db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)).first() is None
    frame = chat.state().frame
    assert frame is not None and frame.flow == "claim_report"


def test_a_phone_changed_after_the_visit_was_booked_is_the_one_the_staff_call(
        chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("阿公坐轮椅，出唔了门，理赔的材料能唔能派人来厝收", text("hv_ask_address")),
        (sends("location", location=(23.3, 116.5, "陈店镇溪口社区")), text("hv_ask_phone")),
    ])
    chat.say("阿公叫许锦荣，电话13715086231")
    verify_dialog(chat, [("算了，唔好打阿公的，伊耳背听唔着，打我的15766384402", text("hv_phone_changed"))])
    db.expire_all()
    [visit] = db.scalars(select(HomeVisit).where(HomeVisit.openid == chat.user))
    cipher = chat.engine.runtime.cipher
    assert cipher.decrypt(visit.phone_enc, purpose=PURPOSE_VISIT_PHONE) == "15766384402"


def test_a_move_with_calls_to_go_to_the_sister_is_an_update_request(chat: Chat) -> None:
    chat.say("你好，阮阿姆紀妙華搬去峽山阮阿妹厝住了，以後有乜通知請打阮阿妹的電話")
    frame = chat.state().frame
    assert frame is not None and frame.flow == "info_update"


def test_a_phone_dictated_in_groups_books_a_visit_whose_address_is_asked_on_the_phone(
        chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("喂恁会来厝无 阮脚无力行唔得", text("hv_ask_address")),
        ("阮要办那个老人保险赔钱的", (text("not_understood"), text("hv_ask_address"))),
    ])
    reply = chat.say("电话一八九，二二七三，零五一六")  # asked twice in vain: the staff ask it on the phone
    db.expire_all()
    [visit] = db.scalars(select(HomeVisit).where(HomeVisit.openid == chat.user))
    cipher = chat.engine.runtime.cipher
    assert cipher.decrypt(visit.phone_enc, purpose=PURPOSE_VISIT_PHONE) == "18922730516"
    assert reply == render(chat, (text("noted"), text("hv_done", number=visit.visit_no, contact_hours=24,
                                                      visit_hours=48)))


def test_already_reported_and_asking_for_someone_to_come_is_a_visit(chat: Chat) -> None:
    verify_dialog(chat, [("阮老爸前几日跋倒手骨折，已经报过案了，材料伊唔会弄，能唔能派人去厝帮伊",
                          text("hv_ask_address"))])


def test_a_lunar_day_said_again_with_its_month_corrects_the_solar_reading(chat: Chat) -> None:
    # NOW is 21 November 2026 (lunar 十月十三): 农历廿八 is 九月廿八 (6 November), 农历十月初三 11 November
    chat.say("阮老爸十月初三过马路被车撞着")
    chat.say("农历廿八啦")
    assert chat.state().notes.get("date") == "2026-11-06"
    chat.forget_state()
    chat.say("阮老爸10月3日过马路被车撞着")
    assert chat.state().notes.get("date") == "2026-10-03"
    chat.say("是农历10月3日")
    assert chat.state().notes.get("date") == "2026-11-11"


def test_me_myself_and_a_name_at_the_who_question(chat: Chat) -> None:
    chat.say("报案")
    verify_dialog(chat, [("翁振华", (text("noted"), RELATIONS))])
    chat.say("我自己")
    frame = chat.state().frame
    assert frame is not None and frame.data.get("relation") == "self" and "name" in frame.secret


def test_hospital_nicknames_and_voice_homophones_are_places_of_care(chat: Chat) -> None:
    extract = chat.engine.services.extract
    assert extract.hospital("住在汕大一附院") == "汕大一附院（汕头大学医学院第一附属医院）"
    assert extract.hospital("送去潮南区人名医院") == "潮南区人民医院"
    assert extract.hospital("在朝南区人民医院住院") == "潮南区人民医院"


def test_cantonese_yesterday_and_a_day_before_the_mid_autumn_festival(chat: Chat) -> None:
    chat.say("我阿媽尋日俾隔籬屋隻狗咬親腳")  # NOW is 21 November 2026
    assert chat.state().notes.get("date") == "2026-11-20"
    chat.forget_state()
    chat.say("阮阿妈中秋前一日在厝里冲工夫茶，滚水壶倒落来烫着脚")  # 中秋 2026 is 25 September
    assert chat.state().notes.get("date") == "2026-09-24"


def test_can_the_id_number_do_instead_of_the_case_number(chat: Chat) -> None:
    verify_dialog(chat, [
        ("请问阿妈那单理赔现在到哪一步了", text("cp_ask")),
        ("案件号无记住，身份证可以吗", text("cp_no_case")),
    ])


def test_a_phone_after_the_visit_rules_books_the_visit(chat: Chat) -> None:
    chat.say("你们有上门服务吗")
    assert chat.state().last.get("topic") == "home_visit_service"
    verify_dialog(chat, [("地址我阿妈识讲，你们打电话给伊，伊叫姚淑贞，电话 13750326689",
                          text("hv_ask_address"))])  # 地址我阿妈识讲 is no address
    frame = chat.state().frame
    assert frame is not None and frame.flow == "home_visit" and "phone" in frame.secret


def test_facts_given_twice_instead_of_who_make_it_their_own_story(chat: Chat) -> None:
    chat.talk("报", "跋倒")
    frame = chat.state().frame
    assert frame is not None and frame.flow == "claim_report" and frame.step == "relation"
    chat.say("昨日")
    chat.say("潮南区人民医院")
    frame = chat.state().frame
    assert frame is not None and frame.data.get("relation") == "self"
