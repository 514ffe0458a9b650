"""Progress, complaint, home visit, contact, policy lookup and info update conversations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.numbers import format_case_number
from backend.complaints.models import Complaint, HomeVisit
from backend.handoff.models import HandoffRequest
from backend.handoff.service import read_payload
from bot.dialogue.engine import DialogueEngine
from tests.bot.dialogue.conftest import LI_ID, ZHANG_ID, ZHANG_PHONE, Chat


def _report(chat: Chat) -> str:
    chat.talk("我妈昨天在家摔倒住院了", "张秀英", "1", ZHANG_ID, "家里", "没有", ZHANG_PHONE)
    done = chat.say("1")
    import re

    m = re.search(r"LP\d{11}", done)
    assert m is not None
    return m.group(0)


def test_progress_by_case_number_alone_only_for_the_reporter(
    chat: Chat, dialogue: DialogueEngine, roster: None
) -> None:
    case_no = _report(chat)
    # the reporter, in a later conversation (state expired): the case number is enough
    chat.engine.store._client.delete(chat.engine.store.key(chat.channel, chat.user))
    chat.say("我的理赔到哪一步了")
    reply = chat.say(case_no)
    assert case_no in reply and "等您交材料" in reply
    assert "前办完" in reply and "病历" in reply  # expected date and what is missing
    # anyone else: the case number (guessable) is not enough, the insured's ID number is asked
    other = Chat(dialogue)
    other.say("我的理赔到哪一步了")
    asked = other.say(case_no)
    assert "身份证" in asked and case_no not in asked and "进度" not in asked
    assert case_no in other.say(ZHANG_ID)
    # the same user on another channel is someone else
    mini = Chat(dialogue, user=chat.user, channel="mini_program")
    mini.say("查理赔进度")
    assert "身份证" in mini.say(case_no)


def test_progress_by_case_number_wrong_id_same_answer_as_unknown_number(
    chat: Chat, dialogue: DialogueEngine, roster: None
) -> None:
    case_no = _report(chat)
    wrong_id = Chat(dialogue)
    wrong_id.talk("查理赔进度", case_no)
    mismatch = wrong_id.say(LI_ID)
    unknown = Chat(dialogue)
    unknown.talk("查理赔进度", format_case_number("LP", "261121", 99))  # no such case: the same question...
    assert "身份证" in unknown.last[0].text
    answer = unknown.say(ZHANG_ID)  # ...and the same answer
    assert mismatch == answer and "没有查到" in mismatch and case_no not in mismatch


def test_progress_by_id_and_name_reveals_nothing_on_mismatch(chat: Chat, dialogue, roster: None) -> None:  # type: ignore[no-untyped-def]
    case_no = _report(chat)
    wrong_name = Chat(dialogue)
    wrong_name.talk("查理赔进度", ZHANG_ID)
    mismatch = wrong_name.say("李四")
    wrong_number = Chat(dialogue)
    wrong_number.say("查理赔进度")
    unknown = wrong_number.say("LP26010100010")
    assert mismatch == unknown and "没有查到" in mismatch and case_no not in mismatch
    right = Chat(dialogue)
    right.talk("查理赔进度", ZHANG_ID)
    assert case_no in right.say("张秀英")


def test_complaint_gets_number_and_time_limits(chat: Chat, db: Session) -> None:
    assert "投诉什么" in chat.say("我要投诉")
    assert "案件" in chat.say("上次打电话没人接，等了很久")
    assert "姓名" in chat.say("没有")
    assert "电话" in chat.say("王大明")
    done = chat.say(ZHANG_PHONE)
    [c] = db.scalars(select(Complaint).where(Complaint.openid == chat.user))
    assert c.complaint_no in done and "24小时" in done and "15个工作日" in done
    assert ZHANG_PHONE not in done


def test_home_visit_with_location(chat: Chat, db: Session) -> None:
    assert "地址" in chat.say("我腿脚不方便能上门办吗")
    assert "姓名" in chat.send("location", location=(23.25, 116.4, "峡山街道某村"))
    chat.say("张秀英")
    done = chat.say(ZHANG_PHONE)
    [v] = db.scalars(select(HomeVisit).where(HomeVisit.openid == chat.user))
    assert v.visit_no in done and "24小时" in done and "48小时" in done


def test_contact_info_never_invents_a_number(chat: Chat) -> None:
    reply = chat.say("你们电话多少")
    assert "还没有公布" in reply and "09:00" in reply
    assert not any(ch.isdigit() for ch in reply.replace("09:00", "").replace("17:00", ""))


def test_policy_lookup_needs_id_and_matching_name(chat: Chat, dialogue, roster: None) -> None:  # type: ignore[no-untyped-def]
    assert "身份证" in chat.say("帮我查一下我妈有没有参保")
    chat.say(ZHANG_ID)
    reply = chat.say("张秀英")
    assert "张*英" in reply and "保障" in reply
    wrong = Chat(dialogue)
    wrong.talk("查保单", ZHANG_ID)
    assert "没有查到" in wrong.say("王大明")
    unknown = Chat(dialogue)
    unknown.talk("查保单", LI_ID)
    assert "没有查到" in unknown.say("李阿婆")


def test_info_update_records_a_request_for_staff(chat: Chat, db: Session, roster: None) -> None:
    chat.say("我换手机号了")
    chat.say(ZHANG_ID)
    assert "要改什么" in chat.say("张秀英")
    assert "新的手机号" in chat.say("1")
    done = chat.say("13900002222")
    assert "不会直接改" in done and "13900002222" not in done
    [row] = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user))
    assert row.reason == "info_update" and row.status == "queued"
    assert "13900002222" not in (row.payload_enc or "")
    assert read_payload(row, cipher=chat.engine.runtime.cipher)["value"] == "13900002222"


def test_general_question_answered_from_faq_then_flow_offered(chat: Chat) -> None:
    reply = chat.say("理赔一般要多久")
    assert "工作日" in reply  # the claim_timeline answer, built from the product's standards
    assert "回复1" in reply and "查理赔进度" in reply
    follow = chat.say("1")
    assert "案件号" in follow  # the progress flow for the customer's own claim


def test_personal_question_goes_straight_into_the_flow(chat: Chat) -> None:
    reply = chat.say("我的理赔到哪一步了")
    assert "案件号" in reply and "工作日内审核" not in reply
