"""Conversations the way real elderly customers and their families hold them (issue 11): someone
hurt right now, the money owed told as a sum, what is not covered, answers checked before they are
stored, corrections at the confirmation, and a next step after "没有查到". Each drives the entry
points the webhook uses (see ``conftest.Chat``) and compares whole replies with the copy file."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.models import PURPOSE_HOSPITAL, Claim
from backend.handoff.models import HandoffRequest
from bot.dialogue.copy import Copy
from tests.bot.dialogue.conftest import (
    IN_HOURS,
    LI_ID,
    ZHANG_ID,
    ZHANG_PHONE,
    Chat,
    Choices,
    Faq,
    confirm,
    consent,
    mothers_fall_report,
    queued,
    render,
    text,
    verify_dialog,
)

RELATIONS = tuple(str(o["label"]) for o in Copy.load().table("relation_choices"))
MINUTES = 3  # the product's online first-response standard (scheme facts)


def _names_kept(chat: Chat) -> set[str]:
    """Where a name could have been stored: the conversation's notes and the flow under way."""
    state = chat.state()
    kept = {"notes"} if "name" in state.secret else set()
    if state.frame is not None and "name" in state.frame.secret:
        kept.add("frame")
    return kept


def test_someone_bleeding_now_hears_120_first_and_is_asked_nothing(chat: Chat) -> None:
    verify_dialog(chat, [
        # the question asked is answered first and alone: no consent, no ID, no report question
        ("我妈摔倒了起不来 流血了 要不要叫救护车", text("emergency")),
        ("流血了", text("emergency_again")),
        ("好多血", text("emergency_again_short")),
    ])
    assert _names_kept(chat) == set()  # "流血了" is never a name
    assert chat.state().frame is None
    verify_dialog(chat, [
        # help is on its way: the report may start, gently, and nothing said before is asked again
        ("叫了 在去医院路上", (text("emergency_at_hospital"), text("cr_ask_name"))),
        ("张秀英", consent("id_number")),
    ])


def test_help_already_called_gets_advice_not_a_form(chat: Chat) -> None:
    verify_dialog(chat, [
        ("我爸在门口跌倒了起不来", text("emergency")),
        ("已经叫了救护车", text("emergency_waiting")),
        ("等下再讲", text("emergency_later")),
    ])
    assert _names_kept(chat) == set() and chat.state().frame is None


def test_what_is_not_covered_is_said_for_the_case_asked_about(chat: Chat) -> None:
    # each question gets the exclusion it is about, never "covered", always with the review caveat
    verify_dialog(chat, [
        ("我爸喝醉酒摔倒了能赔吗", text("excl_drunk")),
        ("打架受伤赔不赔", text("excl_fight")),
        ("我老伴突然心梗走了 能赔吗", text("excl_sudden_death")),
    ])
    for key in ("excl_drunk", "excl_fight", "excl_sudden_death"):
        assert "不赔" in render(chat, text(key)) or "赔不了" in render(chat, text(key))


def test_amount_questions_get_the_sum_the_limits_and_the_review_caveat(chat: Chat) -> None:
    allowance = chat.engine.runtime.catalog.get().benefits.hospital_allowance
    # scheme facts: 30 元 a day, at most 90 days a stay and 180 days a year
    replies = verify_dialog(chat, [
        ("住了一百天能领多少", (text("amt_allowance", days=100, amount=2700, per_day=30, paid_days=90),
                         text("amt_stay_cap", cap=90),
                         text("amt_hospital_rule", requirement=allowance.hospital_requirement),
                         text("amt_check"))),
        ("今年已经住了150天还能领多少",
         (text("amt_year_left", used=150, year_cap=180, left=30, amount=900, cap=90), text("amt_check"))),
        ("十级伤残赔多少", (text("amt_disability", grade=10, amount=300, sum=3000, percent=10),
                       text("amt_disability_rule"), text("amt_check"))),
    ])
    assert [("2700元" in r, "900元" in r, "300元" in r, "以审核为准" in r) for r in replies] == [
        (True, False, False, True), (False, True, False, True), (False, False, True, True)]


def test_answers_are_checked_for_what_they_should_be(chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("我爸昨天在家摔倒住院了", (text("cr_start"), text("cr_ask_name"))),
        # phrases are not names
        ("好 继续报", (text("cr_going_on"), text("cr_ask_name"))),
        ("怎么申请理赔", (text("cr_this_is_it"), text("cr_ask_name"))),
        # a name followed by its ID number: the name alone; the ID waits for its consent (D-04)
        # and is used once the customer agrees, not asked again
        (f"黄德明 身份证{ZHANG_ID}", (text("cr_id_held"), consent("id_number"))),
        ("1", text("cr_ask_hospital")),
        # "the hospital was said before" is not a hospital
        ("医院头先讲过了", (text("cr_not_told"), text("cr_ask_hospital"))),
        ("潮南区人民医院", text("cr_ask_phone")),
        (ZHANG_PHONE, confirm(name="黄德明", relation="父亲", id_number=ZHANG_ID, claim_type="住院了",
                              accident="摔倒", date="2026年11月20日", hospital="潮南区人民医院",
                              phone=ZHANG_PHONE)),
    ])
    chat.say("1")
    [claim] = db.scalars(select(Claim).where(Claim.reporter_openid == chat.user))
    assert _hospital(chat, claim) == "潮南区人民医院"
    # a phone number where the ID was asked goes to the phone
    verify_dialog(Chat(chat.engine), [
        ("我爸昨天在家摔倒住院了", (text("cr_start"), text("cr_ask_name"))),
        ("黄德明", consent("id_number")),
        ("1", text("cr_ask_id")),
        (ZHANG_PHONE, (text("cr_phone_not_id"), text("cr_ask_id"))),
        (ZHANG_ID, text("cr_ask_hospital")),
    ])


def test_changes_of_mind_and_corrections_at_the_confirmation(
        chat: Chat, db: Session, roster: None) -> None:
    *report, (_, _) = mothers_fall_report()
    rest = dict(name="张秀英", id_number=ZHANG_ID, claim_type="住院了", accident="摔倒",
                date="2026年11月20日", phone=ZHANG_PHONE)
    verify_dialog(chat, [
        *report[:4],
        # in the middle: the relation changes
        ("不是我妈，是我老伴", (text("noted"), text("cr_ask_hospital"))),
        *report[4:],
        (ZHANG_PHONE, confirm(relation="老伴", hospital="没有", **rest)),
        # "不对" asks which item, numbered; the answer to it replaces the old value
        ("不对", text("cr_which_wrong")),
        ("5", text("cr_ask_hospital")),
        ("峡山医院", confirm(relation="老伴", hospital="峡山医院", **rest)),
        # a correction in words changes that item
        ("不对，医院是潮南区人民医院", confirm(relation="老伴", hospital="潮南区人民医院", **rest)),
    ])
    chat.say("1")
    [claim] = db.scalars(select(Claim).where(Claim.reporter_openid == chat.user))
    assert (_hospital(chat, claim), claim.reporter_relation) == ("潮南区人民医院", "spouse")


def test_after_nothing_found_the_next_step_is_offered(chat: Chat, dialogue: Any, db: Session) -> None:
    not_found = text("pl_not_found", district="潮南区", age=60)
    verify_dialog(chat, [
        ("查保单", consent("id_number")),
        ("1", text("pl_ask_id")),
        (LI_ID, text("pl_ask_name")),
        ("王大明", not_found),
        ("那怎么办", text("pl_next")),
        # a new phone number told there becomes a request for staff, without asking the ID again
        ("我换了新号码13900002222", text("iu_confirm_value", what="手机号", value="139****2222")),
    ])
    done = chat.say("1")
    [row] = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user))
    assert done == render(chat, text("iu_done", number=row.id))
    progress = Chat(dialogue)
    verify_dialog(progress, [
        ("查理赔进度", text("cp_ask")),
        (ZHANG_ID, text("cp_ask_name")),
        ("王大明", text("cp_not_found")),
        ("那怎么办", text("cp_next")),
    ])


def test_progress_lookups_are_limited_per_wechat_user_so_names_cannot_be_guessed__m09(
    chat: Chat, dialogue: Any, db: Session
) -> None:
    """Issue 8 item 14: ID + name guesses from one WeChat user are limited, and said so kindly."""
    case_no = _report(chat)
    guesser = Chat(dialogue)
    verify_dialog(guesser, [("查理赔进度", text("cp_ask")), (ZHANG_ID, text("cp_ask_name"))])
    for name in ("王大明", "陈秀兰", "林美华", "刘少明"):
        verify_dialog(guesser, [(name, text("cp_not_found")), ("查理赔进度", text("cp_ask_name"))])
    verify_dialog(guesser, [("黄德明", text("cp_too_many"))])  # the fifth wrong guess: no more today
    # even the right name now reveals nothing, by ID or by case number
    [*_, right] = verify_dialog(guesser, [
        ("查理赔进度", text("cp_ask_name")),
        ("张秀英", text("cp_too_many")),
        ("查理赔进度", text("cp_ask_name")),
        (f"案件号{case_no} 身份证{ZHANG_ID}", text("cp_too_many")),
    ])
    assert case_no not in right
    # the same user on another channel is counted together; another user is not blocked
    mini = Chat(dialogue, user=guesser.user, channel="mini_program")
    verify_dialog(mini, [("查理赔进度", text("cp_ask")), (ZHANG_ID, text("cp_ask_name")),
                         ("张秀英", text("cp_too_many"))])
    other = Chat(dialogue)
    verify_dialog(other, [("查理赔进度", text("cp_ask")), (ZHANG_ID, text("cp_ask_name"))])
    assert case_no in other.say("张秀英")


def test_policy_lookups_count_with_the_progress_ones__m09(chat: Chat, roster: None) -> None:
    """Whether a person is insured, by ID number + name, is the same name oracle: the same limit."""
    not_found = text("pl_not_found", district="潮南区", age=60)
    verify_dialog(chat, [("查保单", consent("id_number")), ("1", text("pl_ask_id")),
                         (ZHANG_ID, text("pl_ask_name")), ("王大明", not_found)])
    for name in ("陈秀兰", "林美华", "刘少明"):  # looking again: both asked again, the consent is not
        verify_dialog(chat, [("查保单", text("pl_ask_id")), (ZHANG_ID, text("pl_ask_name")),
                             (name, not_found)])
    verify_dialog(chat, [
        ("查保单", text("pl_ask_id")), (ZHANG_ID, text("pl_ask_name")),
        ("黄德明", text("cp_too_many")),  # the fifth wrong name
        ("查保单", text("cp_too_many")),  # no more today: nothing is asked
        (f"帮我查一下张秀英有没有保险 身份证{ZHANG_ID}", text("cp_too_many")),  # the right name tells nothing
    ])
    other = Chat(chat.engine, user=chat.user, channel="mini_program")  # nor does the progress enquiry
    verify_dialog(other, [("查理赔进度", text("cp_ask")), (ZHANG_ID, text("cp_ask_name")),
                          ("张秀英", text("cp_too_many"))])


def test_short_follow_ups_are_read_with_what_was_asked_before(chat: Chat) -> None:
    verify_dialog(chat, [
        ("住院一日给几多", (Faq("hospital_allowance"), text("faq_followup", label="理赔要交什么材料"))),
        ("坐车出事呢", (Faq("transport_death"), text("faq_followup", label="哪些车船算营运交通工具"))),
        # the age decides, whatever the topic before
        ("那我妈呢 她五十八", text("elig_too_young", age=58, min_age=60, district="潮南区")),
    ])


def test_one_or_two_words_lead_to_numbered_choices_with_a_person(chat: Chat, dialogue: Any) -> None:
    verify_dialog(chat, [("脚痛", (text("not_understood_short"), text("menu")))])
    assert "人工" in render(chat, text("menu")) and "这个我答不了" not in chat.say("脚痛")
    verify_dialog(Chat(dialogue), [("跋倒", (text("cr_start"), Choices("cr_ask_relation", RELATIONS)))])


def test_after_a_handoff_the_bot_does_not_talk_over_it(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    verify_dialog(chat, [
        ("转人工", queued()),
        ("你好", ""),  # no greeting, no menu while the person is coming: the person reads it
        ("在吗", ""),
    ])
    assert len(db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)).all()) == 1


def _hospital(chat: Chat, claim: Claim) -> str:
    assert claim.hospital_enc is not None
    return chat.engine.runtime.cipher.decrypt(claim.hospital_enc, purpose=PURPOSE_HOSPITAL)


def _report(chat: Chat) -> str:
    verify_dialog(chat, mothers_fall_report())
    chat.say("1")
    assert chat.state().claim is not None
    return str(chat.state().claim["case_no"])
