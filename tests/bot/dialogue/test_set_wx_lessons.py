"""What sets W and X (two more blind authors) and the last open conversation of set V taught, in new
sentences of the same kinds. NOW is Saturday 21 November 2026."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.models import Claim
from backend.complaints.models import PURPOSE_COMPLAINT_PHONE, Complaint
from backend.handoff.models import HandoffRequest
from backend.handoff.service import read_payload
from tests.bot.dialogue.conftest import Chat, make_id


def _updates(chat: Chat, db: Session) -> list[dict[str, str]]:
    rows = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user,
                                                   HandoffRequest.reason == "info_update")
                      .order_by(HandoffRequest.id))
    return [read_payload(row, cipher=chat.engine.runtime.cipher) for row in rows]


def test_a_second_change_in_the_message_that_confirms_the_first_is_recorded_too(
        chat: Chat, db: Session) -> None:
    chat.say("阿妈的理赔报过了，案件号2026110512345")
    chat.say("那时留的是阿妈的电话，以后请联系我：13719283746")
    reply = chat.say("对。另外收款的银行卡也要换成我的卡，怎么办")
    assert [(p["field"], p["case_no"]) for p in _updates(chat, db)] == [
        ("phone", "2026110512345"), ("bank_account", "2026110512345")]
    assert _updates(chat, db)[1]["callback_phone"] == "13719283746"  # the card is checked on the new phone
    assert "卡号不用在这里发" in reply
    assert chat.flow() is None  # the number named the claim to change: no progress lookup comes back
    assert chat.say("我是伊大女儿").startswith("好的")


def _claims(db: Session, chat: Chat) -> list[Claim]:
    return list(db.scalars(select(Claim).where(Claim.reporter_openid == chat.user).order_by(Claim.id)))


def test_a_report_spoken_with_digits_read_out_and_the_ids_x_said_aloud(chat: Chat, db: Session) -> None:
    chat.say("我老伴昨天在厝里衰倒了 现在在竹院")
    assert chat.state().notes.get("accident") == "fall"
    chat.say("伊叫蔡丽娟")
    reply = chat.say("可以 四四洞五幺四 幺九四九 洞八幺五 洞洞三叉")  # 440514 1949 0815 003X
    assert chat.frame_secret("id_number") == make_id("19490815", "003")
    assert "医院" in reply  # the next question: the ID was taken
    assert chat.frame_secret("phone") is None  # never a phone read inside the ID's digits
    chat.say("电话幺三九 两六五洞 八八幺三")
    assert chat.frame_secret("phone") == "13926508813"


def test_a_panic_spoken_with_no_words_for_blood_is_still_an_emergency(chat: Chat) -> None:
    assert "120" in chat.say("快点 阮阿爸在楼梯跋落来 唔会讲话了")


def test_who_was_hurt_is_not_the_one_the_writer_asks_for(chat: Chat) -> None:
    chat.say("我是帮我阿嬷问的 我阿公昨天在市场被摩托车撞了")
    assert chat.state().notes.get("relation") == "grandfather"
    chat.forget_state()
    chat.say("阮厝边的阿婶前日跋倒 伊仔都在外地")
    assert chat.state().notes.get("relation") == "non_relative"


def test_a_name_ending_in_a_joining_character_and_a_self_report_with_the_name(chat: Chat) -> None:
    chat.talk("阮阿爸前日在街上被人撞倒 住院了")
    chat.say("阮阿爸叫林振和 我是伊仔")
    assert chat.frame_secret("name") == "林振和"
    chat.forget_state()
    chat.say("我要报案")
    chat.say("我叫吴顺南 自己报")
    assert chat.frame_data("relation") == "self" and chat.frame_secret("name") == "吴顺南"


def test_a_callback_number_corrected_after_the_complaint_is_filed_replaces_the_first(
        chat: Chat, db: Session) -> None:
    chat.say("我要投诉 讲好来收材料 等了一日无人来")
    chat.say("打给我 13751224084")
    reply = chat.say("唔对 尾数是八 13751224088")
    assert "1375" not in reply and "4088" in reply  # masked, the new one
    [c] = db.scalars(select(Complaint).where(Complaint.openid == chat.user))
    assert chat.engine.runtime.cipher.decrypt(c.contact_phone_enc, purpose=PURPOSE_COMPLAINT_PHONE) \
        == "13751224088"


def test_every_kind_of_transport_asked_together_is_answered(chat: Chat) -> None:
    chat.say("坐公交车出事走了赔多少")
    reply = chat.say("那做船呢 坐飞机呢")
    assert "50000" in reply and "100000" in reply


def test_no_hospital_at_the_situation_question_is_recorded_as_no_hospital(chat: Chat) -> None:
    chat.talk("我前日在厝跋倒 手乌青", "我叫马秀云", "同意", make_id("19560101", "036"))
    reply = chat.say("无去医院 自己擦药油")
    assert "电话" in reply
    assert "没去医院" in chat.say("19850312284")


def test_a_pause_to_ask_the_family_is_no_complaint(chat: Chat) -> None:
    chat.talk("我妈前日在田里跋倒 腰扭到 要报案", "伊叫李秀兰 80岁")
    chat.say("等一下 我打电话问清楚")
    assert chat.flow() == "claim_report"


def test_a_day_denied_at_the_end_is_not_the_one_meant(chat: Chat) -> None:
    chat.talk("我妈前天在田里跋倒 腰扭到 要报案", "她叫李秀兰 80岁")
    chat.say("唔对 我妈讲是大前天 18号礼拜三 唔是前天")
    assert chat.state().notes.get("date") == "2026-11-18"
    assert chat.frame_data("no_id") is None  # its 唔对 was about the day, not the consent


def test_a_yes_with_a_new_day_at_the_confirmation_changes_the_day(chat: Chat, db: Session) -> None:
    chat.talk("我妈前天在田里跋倒 要报案", "她叫李秀兰 80岁", "同意", make_id("19461102", "246"),
              "井都卫生院看的 无住院", "15360982217")
    reply = chat.say("对 日期是18号")
    assert "11月18日" in reply and not _claims(db, chat)  # confirmed again, not filed with the old day


def test_the_lunar_word_said_alone_settles_a_day_written_the_lunar_way(chat: Chat) -> None:
    chat.say("帮阮阿公报个案")
    chat.say("阿公九月廿二去厝顶晒菜脯 跋落来")
    chat.say("是农历")
    notes = chat.state().notes
    assert notes.get("date") == "2026-10-31" and notes.get("date_lunar") is True  # 农历九月廿二


def test_a_name_respelled_after_is_replaces_the_heard_one(chat: Chat) -> None:
    chat.talk("我爸前天被汽车撞了 在住院", "我爸叫谢永法 七十三岁")
    chat.say("打错 是谢永发 发财的发")
    assert chat.frame_secret("name") == "谢永发"


def test_a_coach_crash_with_twenty_odd_old_people_is_a_mass_casualty(chat: Chat) -> None:
    chat.say("阮阿妈坐的大巴翻车了")
    chat.say("车上二十几个老人 好多受伤")
    assert chat.state().notes.get("mass")


def test_the_insurers_other_health_products_get_their_standards_and_a_person(chat: Chat) -> None:
    reply = chat.say("我给我妈买了一份住院医疗险 下个月到期")
    assert "15天" in reply and "2小时" in reply
    assert chat.state().notes.get("handoff")


def test_a_change_to_another_products_policy_needs_no_id_and_each_field_is_recorded(
        chat: Chat, db: Session) -> None:
    chat.say("我妈那份住院医疗险 要改地址和电话")
    chat.say("新地址峡山街道金光南路18号")
    reply = chat.say("电话改成我的 13417280956")
    assert "身份证" not in reply and "2个工作日" in reply
    assert sorted(p["field"] for p in _updates(chat, db)) == ["address", "phone"]


def test_several_questions_in_a_report_separated_only_by_spaces_are_each_answered(chat: Chat) -> None:
    chat.talk("我爸今天早上被电动车撞了 怎么报案", "郑木生 81岁 我老爸 小腿骨折")
    reply = chat.say("要什么材料 多久能赔 还能报吗")
    assert "病历" in reply and "工作日" in reply
    assert "死亡证明" not in reply  # hurt, alive: no death papers


def test_a_neighbouring_districts_hospital_heard_by_voice(chat: Chat) -> None:
    chat.talk("我外婆上礼拜在厕所跋倒", "送去朝阳人民医院 住院了")
    assert chat.state().notes.get("hospital") == "潮阳区人民医院"


def test_a_single_question_is_read_once(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """The split into questions reads each part again only when there are two or more (one reading a
    turn is the webhook's budget: bench_webhook.py)."""
    nlu = chat.engine.nlu
    calls: list[str] = []
    original = nlu.predict
    monkeypatch.setattr(nlu, "predict", lambda text, *a, **k: calls.append(text) or original(text, *a, **k))
    assert "30元" in chat.say("住院一天赔多少钱")
    assert len(calls) == 1
    chat.say("要准备什么材料 多久能到账")
    assert len(calls) == 4  # the message, then each of its two questions
