"""What sets U and V (two more blind authors: 29 and 35 of 40 at first sight) taught, in new sentences of
the same kinds: a name right after 我 or after 阿爸名; a name said again with one character different
replaces the one voice input heard; a bare "who" answer (阮翁, 我老母 90岁) corrects the relation; which
hospitals count and whether an old person is covered, asked in Teochew; 叫人来厝拿 is a visit; a sum
named in a question inside a report is answered; 着电 is an electric shock; brothers and sisters are
relatives; a phone "以后请联系我" in an update is the new number. NOW is Saturday 21 November 2026."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.handoff.models import HandoffRequest
from backend.handoff.service import read_payload
from tests.bot.dialogue.conftest import Chat, make_id

ID_U = make_id("19470611", "031")


def test_a_name_right_after_me_or_after_whose_name(chat: Chat) -> None:
    chat.say("我林秀英 跋倒")
    assert chat.frame_secret("name") == "林秀英"
    chat.forget_state()
    chat.say("阮阿妈前日在厝跋倒，住院了")
    chat.say("阿妈名陈玉兰，80岁，我是伊女儿")
    assert chat.frame_secret("name") == "陈玉兰"


def test_a_name_said_again_with_one_character_different_replaces_the_heard_one(chat: Chat) -> None:
    chat.talk("阮老婆昨日在市场跋倒 住院了", "伊叫黄秀兰")
    chat.say("王 三横一竖个王 王秀兰")
    assert chat.frame_secret("name") == "王秀兰"
    chat.forget_state()
    chat.talk("阮老母昨日跋倒 住院了", "伊叫方锡")
    chat.say("方惜 可惜个惜")
    assert chat.frame_secret("name") == "方惜"


def test_a_bare_who_answer_corrects_the_relation(chat: Chat) -> None:
    chat.say("阿公 跋倒")
    chat.say("阮翁")
    assert chat.frame_data("relation") == "spouse"  # a wife calls her husband 阿公, as the grandchildren do
    chat.forget_state()
    chat.say("阮阿麻八倒了 腰骨痛")
    chat.say("我老母 90岁")
    assert chat.frame_data("relation") == "mother"


def test_a_bare_role_word_is_who_the_writer_is_not_who_was_hurt(chat: Chat) -> None:
    chat.talk("阮阿妈前日在厝跋倒，住院了", "伊叫吴秀珠")
    chat.say("女儿")
    assert chat.frame_data("relation") == "mother"


def test_which_hospitals_count_and_whether_an_old_person_is_covered_asked_in_teochew(chat: Chat) -> None:
    assert "二级" in chat.say("跋倒 去边间医院 保险才赔")
    chat.forget_state()
    assert "二级" in chat.say("卫生站得唔得")
    chat.forget_state()
    reply = chat.say("你好阮今年81岁有无保险")
    assert "60" in reply and "户籍" in reply


def test_call_someone_to_come_home_to_collect_is_a_visit(chat: Chat) -> None:
    chat.say("叫人来厝收资料 好无")
    assert chat.flow() == "home_visit"


def test_a_sum_named_in_a_question_inside_a_report_is_answered(chat: Chat) -> None:
    chat.say("阮阿爸前日在路边行路被电动车撞倒，送去医院，昨日走了")
    reply = chat.say("听讲车祸都赔三万，系唔系？")
    assert "30000" in reply  # the transport rule, with whom it is for


def test_an_electric_shock_in_teochew_and_a_brother_as_a_relative(chat: Chat) -> None:
    chat.say("阮兄昨暝修电箱着电，送去医院住院了")
    notes = chat.state().notes
    assert notes.get("accident") == "electric_shock" and notes.get("relation") == "other_relative"


def test_contact_me_from_now_on_in_an_update_is_the_new_number(chat: Chat) -> None:
    chat.say("阿妈的理赔案件号2026110512345，当时留的是阿妈的号码，以后请联系我：13719283746")
    assert chat.flow() == "info_update"
    assert chat.frame_data("candidate") is True


def test_hit_while_walking_stays_a_traffic_accident(chat: Chat) -> None:
    chat.say("阮阿爸前日在街边行路被摩托车撞倒，住院了")
    chat.say("伊是行路被撞，唔是坐车")
    assert chat.state().notes.get("accident") == "traffic"


def test_a_new_address_told_before_who_it_is_is_recorded_once_the_name_comes_with_the_yes(
        chat: Chat, db: Session) -> None:
    chat.say("阮搬去阿仔厝住，地址要改")
    chat.say("新地址潮南区两英镇古溪村三巷6号")
    chat.say(f"郑两合，{ID_U}，可以")
    rows = list(db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user,
                                                        HandoffRequest.reason == "info_update")))
    assert len(rows) == 1
    payload = read_payload(rows[0], cipher=chat.engine.runtime.cipher)
    assert payload["field"] == "address" and "古溪村" in payload["value"] and payload["name"] == "郑两合"


def test_how_much_to_pay_among_two_questions_gets_the_premium(chat: Chat) -> None:
    reply = chat.say("阮阿爸70岁，潮南户口，这个老人保险要交多少钱？要去哪里办？")
    assert "政府" in reply and "不用交" in reply  # who pays, and nothing for the old person
    assert "不用报名" in reply  # and nothing to enrol
