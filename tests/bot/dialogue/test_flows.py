"""Progress, complaint, home visit, contact, policy lookup and info update conversations."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.numbers import format_case_number
from backend.complaints.home_visits import visit_text
from backend.complaints.models import PURPOSE_COMPLAINT_PHONE, Complaint, ComplaintEvent, HomeVisit
from backend.handoff.models import HandoffRequest
from backend.handoff.service import read_payload
from bot.dialogue.consent import ID_HELD
from bot.dialogue.engine import DialogueEngine
from tests.bot.dialogue.conftest import (
    LI_ID,
    ZHANG_ID,
    ZHANG_PHONE,
    Chat,
    Faq,
    consent,
    mothers_fall_report,
    render,
    sends,
    text,
    verify_dialog,
)

CONTACT = (text("ct_no_hotline"), text("ct_no_offices"), text("ct_hours", open="09:00", close="17:00"))


def _report(chat: Chat) -> str:
    verify_dialog(chat, mothers_fall_report())
    done = chat.say("1")
    m = re.search(r"LP\d{11}", done)
    assert m is not None
    return m.group(0)


def test_progress_by_case_number_alone_only_for_the_reporter(
    chat: Chat, dialogue: DialogueEngine, roster: None
) -> None:
    case_no = _report(chat)
    # the reporter, in a later conversation (state expired): the case number is enough
    chat.forget_state()
    verify_dialog(chat, [("我的理赔到哪一步了", text("cp_ask"))])
    reply = chat.say(case_no)
    assert case_no in reply and "等您交材料" in reply
    assert "前办完" in reply and "病历" in reply  # expected date and what is missing
    # anyone else: the case number (guessable) is not enough, the insured's ID number is asked
    other = Chat(dialogue)
    verify_dialog(other, [("我的理赔到哪一步了", text("cp_ask")), (case_no, consent("id_number")),
                          ("1", text("cp_ask_id"))])
    assert case_no in other.say(ZHANG_ID)
    # the same user on another channel is someone else
    mini = Chat(dialogue, user=chat.user, channel="mini_program")
    verify_dialog(mini, [("查理赔进度", text("cp_ask")), (case_no, consent("id_number"))])


def test_progress_by_case_number_wrong_id_same_answer_as_unknown_number(
    chat: Chat, dialogue: DialogueEngine, roster: None
) -> None:
    case_no = _report(chat)
    wrong_id = Chat(dialogue)
    [*_, mismatch] = verify_dialog(wrong_id, [
        ("查理赔进度", text("cp_ask")), (case_no, consent("id_number")), ("1", text("cp_ask_id")),
        (LI_ID, text("cp_not_found"))])
    unknown = Chat(dialogue)
    [*_, answer] = verify_dialog(unknown, [
        ("查理赔进度", text("cp_ask")),
        (format_case_number("LP", "261121", 99), consent("id_number")),  # no such case: the same questions...
        ("1", text("cp_ask_id")),
        (ZHANG_ID, text("cp_not_found")),  # ...and the same answer
    ])
    assert mismatch == answer and case_no not in mismatch


def test_progress_by_id_and_name_reveals_nothing_on_mismatch(
    chat: Chat, dialogue: DialogueEngine, roster: None
) -> None:
    case_no = _report(chat)
    [*_, mismatch] = verify_dialog(Chat(dialogue), [
        ("查理赔进度", text("cp_ask")), (ZHANG_ID, text("cp_ask_name")), ("王大明", text("cp_not_found"))])
    [*_, unknown] = verify_dialog(Chat(dialogue), [
        ("查理赔进度", text("cp_ask")), (LI_ID, text("cp_ask_name")), ("张秀英", text("cp_not_found"))])
    assert mismatch == unknown and case_no not in mismatch
    right = Chat(dialogue)
    verify_dialog(right, [("查理赔进度", text("cp_ask")), (ZHANG_ID, text("cp_ask_name"))])
    assert case_no in right.say("张秀英")


def test_complaint_gets_number_and_time_limits(chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("我要投诉", text("cc_ask_what")),
        ("上次打电话没人接，等了很久", text("cc_ask_phone")),  # no case number, no name: not needed
    ])
    done = chat.say(ZHANG_PHONE)
    [c] = db.scalars(select(Complaint).where(Complaint.openid == chat.user))
    assert done == render(chat, text("cc_done", number=c.complaint_no, ack_hours=24, days=15))
    assert ZHANG_PHONE not in done
    verify_dialog(chat, [
        ("那个人姓陈", text("cc_added")),  # more details go with the complaint
        ("多久给我答复", text("cc_when", ack_hours=24, days=15)),
        ("好 我等电话", text("cc_wait")),
    ])
    events = db.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id)).all()
    assert [e.kind for e in events] == ["filed", "customer_added"]


def test_indirect_complaint_with_its_callback_number_is_filed_at_once(chat: Chat, db: Session) -> None:
    message = ("昨天你们两个工作人员来我家收材料 那个男的很不耐烦 还把材料甩在桌上 我妈气到哭 "
               f"我电话{ZHANG_PHONE} 要给我一个说法")
    reply = chat.say(message)  # no word 投诉: still a complaint, and the number is taken, not asked
    [c] = db.scalars(select(Complaint).where(Complaint.openid == chat.user))
    done = text("cc_done", number=c.complaint_no, ack_hours=24, days=15)
    assert reply == render(chat, (text("cc_sorry"), done))
    cipher = chat.engine.runtime.cipher
    assert cipher.decrypt(c.contact_phone_enc, purpose=PURPOSE_COMPLAINT_PHONE) == ZHANG_PHONE
    assert c.category == "service_attitude"


def test_home_visit_with_location_is_booked_with_the_phone_and_a_time_added_later_is_kept(
        chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("我腿脚不方便能上门办吗", text("hv_ask_address")),
        (sends("location", location=(23.25, 116.4, "峡山街道某村")), text("hv_ask_phone")),
    ])
    done = chat.say(ZHANG_PHONE)  # no name asked: the staff ask on the phone, the booking does not wait
    [v] = db.scalars(select(HomeVisit).where(HomeVisit.openid == chat.user))
    assert done == render(chat, text("hv_done", number=v.visit_no, contact_hours=24, visit_hours=48))
    assert chat.say("礼拜三上午比较方便") == render(chat, text("hv_time_noted"))
    db.expire_all()
    purpose = visit_text(db.get(HomeVisit, v.id), "purpose", cipher=chat.engine.runtime.cipher)
    added = render(chat, text("hv_customer_added", text="礼拜三上午比较方便"))
    assert purpose is not None and purpose.endswith(added)


def test_contact_info_never_invents_a_number(chat: Chat) -> None:
    [reply] = verify_dialog(chat, [("你们电话多少", CONTACT)])
    assert not any(ch.isdigit() for ch in reply.replace("09:00", "").replace("17:00", ""))


def test_d04_a_lookups_id_and_name_sent_instead_of_the_consent_wait_for_it_and_are_not_asked_again(
        chat: Chat, dialogue: DialogueEngine, roster: None) -> None:
    verify_dialog(chat, [
        ("帮我查一下我妈有没有参保", consent("id_number")),
        (f"张秀英 {ZHANG_ID}", (text("noted"), text("cr_id_held"), consent("id_number"))),
    ])
    reply = chat.say("1")  # agreed: the number and name sent are used, nothing asked twice
    assert reply.startswith("张*英：") and "保障" in reply
    # refused: the number sent is not kept
    other = Chat(dialogue)
    verify_dialog(other, [
        ("帮我查一下我妈有没有参保", consent("id_number")),
        (f"张秀英 {ZHANG_ID}", (text("noted"), text("cr_id_held"), consent("id_number"))),
    ])
    other.say("2")
    frame = other.state().frame
    assert frame is None or ID_HELD not in frame.secret


def test_policy_lookup_needs_id_and_matching_name(chat: Chat, dialogue: DialogueEngine, roster: None) -> None:
    verify_dialog(chat, [("帮我查一下我妈有没有参保", consent("id_number")), ("1", text("pl_ask_id")),
                         (ZHANG_ID, text("pl_ask_name"))])
    reply = chat.say("张秀英")
    assert reply.startswith("张*英：") and "保障" in reply
    # nothing found: who is covered anyway (every resident aged 60+ of the district), and what next
    not_found = text("pl_not_found", district="潮南区", age=60)
    verify_dialog(Chat(dialogue), [
        ("查保单", consent("id_number")), ("1", text("pl_ask_id")), (ZHANG_ID, text("pl_ask_name")),
        ("王大明", not_found)])
    verify_dialog(Chat(dialogue), [
        ("查保单", consent("id_number")), ("1", text("pl_ask_id")), (LI_ID, text("pl_ask_name")),
        ("李阿婆", not_found), ("查不到是什么意思", text("pl_explain", age=60))])
    assert "自动" in render(chat, not_found)


def test_info_update_records_a_request_for_staff(chat: Chat, db: Session, roster: None) -> None:
    verify_dialog(chat, [
        ("我换手机号了", consent("id_number")),
        ("1", text("iu_ask_id")),
        (ZHANG_ID, text("pl_ask_name")),
        ("张秀英", text("iu_ask_value", what="手机号")),  # 手机号: what to change is already known
    ])
    done = chat.say("13900002222")
    [row] = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user))
    assert done == render(chat, text("iu_done", number=row.id))  # "不会直接改"
    assert "13900002222" not in done
    assert row.reason == "info_update" and row.status == "queued"
    assert "13900002222" not in (row.payload_enc or "")
    assert read_payload(row, cipher=chat.engine.runtime.cipher)["value"] == "13900002222"


def test_general_question_answered_from_faq_then_flow_offered(chat: Chat) -> None:
    [reply, _] = verify_dialog(chat, [
        ("理赔一般要多久", (Faq("claim_timeline"), text("general_then_flow", label="查理赔进度"))),
        ("1", text("cp_ask")),  # the progress flow for the customer's own claim
    ])
    assert "工作日" in reply  # the claim_timeline answer, built from the product's standards


def test_personal_question_goes_straight_into_the_flow(chat: Chat) -> None:
    verify_dialog(chat, [("我的理赔到哪一步了", text("cp_ask"))])
