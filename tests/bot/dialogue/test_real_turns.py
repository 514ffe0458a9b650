"""Turns real elderly customers take (issue 11): a number sent in pieces, a correction said where
another question waits, a name after 伊名 with its characters spelled out, the consent answered
before it was asked, and never the same question a third time. Each conversation drives the entry
points the webhook uses (``conftest.Chat``) and compares whole replies with the copy file."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.models import Claim
from backend.complaints.models import Complaint, HomeVisit
from backend.handoff.models import HandoffRequest
from backend.privacy.service import consent_config
from tests.bot.dialogue.conftest import (
    IN_HOURS,
    LI_ID,
    NOW,
    ZHANG_PHONE,
    Chat,
    Choices,
    Faq,
    confirm,
    consent,
    render,
    text,
    verify_dialog,
)


def test_an_id_number_in_two_messages_and_corrections_at_the_consent_question(chat: Chat) -> None:
    verify_dialog(chat, [
        ("我阿公昨天骑电动车被一辆小车撞了 在潮南民生医院住院", (text("cr_start"), text("cr_ask_name"))),
        ("阿公叫林木松 树林的林 木头的木 松树的松", consent("id_number")),
        (f"{LI_ID[:4]} {LI_ID[4:8]} {LI_ID[8:12]}", text("digits_more")),
        # the number itself, sent in answer to the question that said what it is for, is the yes
        (f"{LI_ID[12:16]} {LI_ID[16:]}", (text("consent_id_sent"), text("cr_ask_phone"))),
        # a "不是" that corrects the day is no withdrawal of the consent; the last day said counts
        ("不对 不是昨天 是前天晚上", (text("noted"), text("cr_ask_phone"))),
        # the hospital the customer corrects to (transferred since) replaces the one said before
        ("哦不是 头先转去汕头大学医学院第一附属医院了", (text("noted"), text("cr_ask_phone"))),
        (ZHANG_PHONE, confirm(name="林木松", relation="爷爷或外公", id_number=LI_ID, claim_type="住院了",
                              accident="车祸", date="2026年11月19日", hospital="汕头大学医学院第一附属医院",
                              phone=ZHANG_PHONE)),
    ])


def test_a_name_after_yi_ming_and_a_field_given_in_the_wrong_question_goes_to_its_own_field(
        chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("我爸昨天在市场被楼上跌落的花盆砸到头 在峡山医院住院", (text("cr_start"), text("cr_ask_name"))),
        # a phone number where the name is asked: kept as the phone, the name asked again
        ("电话 138 1234 5678", (text("noted"), text("cr_ask_name"))),
        ("伊名周锦河", consent("id_number")),
        ("1", text("cr_ask_id")),
        (LI_ID, confirm(name="周锦河", relation="父亲", id_number=LI_ID, claim_type="住院了",
                        accident="高空坠物", date="2026年11月20日", hospital="峡山医院", phone=ZHANG_PHONE)),
    ])
    chat.say("对")
    claim = db.scalars(select(Claim).order_by(Claim.id.desc())).first()
    assert claim is not None and str(claim.accident_date) == "2026-11-20"


def test_the_same_question_is_not_asked_a_third_time(chat: Chat) -> None:
    stuck = Choices("stuck", (text("stuck_person").render(chat), text("stuck_again").render(chat)))
    verify_dialog(chat, [
        ("我妈昨天在家跋倒住院了", (text("cr_start"), text("cr_ask_name"))),
        ("对", (text("cr_bad_name"), text("cr_ask_name"))),
        # the second answer that is no name: another way is offered, not the same question
        ("好", (text("cr_bad_name"), stuck)),
        ("2", text("cr_ask_name")),
    ])


def test_the_consent_said_before_it_is_asked_is_kept_and_a_refusal_is_explained(chat: Chat) -> None:
    verify_dialog(chat, [
        ("阮老伴昨天在浴室跋倒 手骨断了 住在潮南区人民医院", (text("cr_start"), text("cr_ask_name"))),
        # a no with a question: why the ID is needed, and that the report goes on without it
        ("乜个同意 我唔同意 我只要报案", (text("consent_why_early"), text("cr_ask_name"))),
        # the yes is recorded, and the customer is shown the very text they agreed to (D-04)
        ("好啦 同意", (text("consent_early_ok", text=consent_config().texts["id_number"].text),
                      text("cr_ask_name"))),
        ("伊叫陈佳明", text("cr_ask_id")),
        (LI_ID, text("cr_ask_phone")),
    ])


def test_a_phone_number_in_three_messages_books_the_home_visit(chat: Chat, db: Session) -> None:
    replies = verify_dialog(chat, [
        ("你们的人可以来厝帮阮老伴办理赔吗 伊唔能出门", text("hv_ask_address")),
        ("阮厝在陈店", text("hv_ask_phone")),
        ("电话 138", text("digits_more")),
        ("1234", text("digits_more")),
    ])
    assert replies
    chat.say("5678")
    visit = db.scalars(select(HomeVisit).order_by(HomeVisit.id.desc())).first()
    assert visit is not None and visit.visit_no in chat.last[0].text


def test_call_me_not_her_in_a_visit_request_books_the_visit_with_my_phone(chat: Chat, db: Session) -> None:
    replies = chat.talk("我阿妈九十岁 一个人住在仙城 腿脚唔好 出唔得门", "有无人可以上门帮伊办")
    assert replies
    # "call me, she cannot hear well" is how to reach the family: no complaint, the visit goes on
    verify_dialog(chat, [
        ("我人在东莞 你们打我电话 打伊电话伊听唔清楚", text("hv_ask_phone")),
    ])
    chat.say("138 1234 5678")
    visit = db.scalars(select(HomeVisit).order_by(HomeVisit.id.desc())).first()
    assert visit is not None and chat.last[0].text.startswith(render(chat, text(
        "hv_done", number=visit.visit_no, contact_hours=24, visit_hours=48)))
    assert db.scalars(select(Complaint)).first() is None


def test_a_broken_promise_of_a_visit_is_a_complaint(chat: Chat) -> None:
    reply = chat.say("礼拜五你们说两日内派人来阮厝收资料 到今天都无人来")
    assert reply.startswith(render(chat, text("cc_sorry"))), reply


def test_when_the_money_comes_is_answered_as_a_rule_without_a_case_number(chat: Chat) -> None:
    verify_dialog(chat, [
        ("资料交齐了几时能到钱", (Faq("claim_timeline"), text("general_then_flow", label="查理赔进度"))),
    ])


def test_a_sum_guessed_for_a_long_stay_is_corrected_to_the_90_day_limit(chat: Chat) -> None:
    chat.now = NOW
    verify_dialog(chat, [
        ("阿妈九月跋倒骨折 在汕头市中心医院住到现在 差不多一百日了", (text("cr_start"), text("cr_ask_name"))),
    ])
    reply = chat.say("住院补贴一日30 那一百日就是三千吧")
    assert "2700" in reply and reply.endswith(render(chat, text("cr_ask_name")))


def test_the_cover_of_someone_turning_60_starts_on_a_named_day(chat: Chat) -> None:
    chat.say("我妈户口在潮南 十二月一号满60岁 要不要去哪里办手续参加这个老人保险")
    start = text("cov_start_day", month=12, day=1, age=60, start="2027年1月1日")
    assert render(chat, start) in chat.last[0].text
    reply = chat.say("如果伊十二月中跋倒有无得赔")
    assert reply == render(chat, (start, text("cov_before_start", start="2027年1月1日")))


def test_an_update_whose_consent_is_answered_with_details_goes_to_a_person(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    verify_dialog(chat, [
        ("我妈之前报案留的号码停用了 新号码 15817736620", consent("id_number")),
        # details instead of a yes or a no, twice: the request is kept and a person checks the identity
        ("我妈叫庄雪英 案件号我找不到了", (text("noted"), consent("id_number"))),
    ])
    reply = chat.say(f"身份证 {LI_ID}")
    rows = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)
                      .order_by(HandoffRequest.id)).all()
    assert [r.reason for r in rows] == ["info_update", "asked"]
    assert reply.startswith(render(chat, text("iu_to_person", what="手机号", number=rows[0].id)))
    assert "修改成功" not in reply and chat.state().frame is None


def test_a_bare_today_word_in_a_report_under_way_is_the_accident_day(chat: Chat) -> None:
    verify_dialog(chat, [
        ("我被滚水烫到脚 要报案", (text("cr_start"), text("cr_ask_name_self"))),
        ("今天早上煲粥 锅翻了 滚水淋到脚", (text("noted"), text("cr_ask_name_self"))),
    ])
    assert chat.state().notes.get("date") == "2026-11-21"  # NOW is Saturday 21 November in Shanghai


def test_just_now_about_what_was_said_is_no_accident_day(chat: Chat) -> None:
    verify_dialog(chat, [
        ("我阿妈在过马路给一架电动车撞倒 在潮南区人民医院", (text("cr_start"), text("cr_ask_name"))),
        ("不是 是峡山医院 头先讲错了", (text("noted"), text("cr_ask_name"))),
    ])
    notes = chat.state().notes
    assert notes.get("hospital") == "峡山医院" and "date" not in notes


def test_seventeen_digits_are_a_typo_not_the_start_of_a_number(chat: Chat) -> None:
    reply = chat.talk("我妈昨天在家跋倒住院了", "张秀英", "1")[-1]
    assert reply == render(chat, text("cr_ask_id"))
    after = chat.say(LI_ID[:17])  # one digit missing: said so at once, nothing is waited for
    assert after != render(chat, text("digits_more"))
    assert after.endswith(render(chat, text("cr_ask_id"))) and "18" in after
