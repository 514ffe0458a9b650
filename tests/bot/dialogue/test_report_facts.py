"""Facts of a report that come before their question or beside another one (issue 11): a name sent
after a report was offered starts the report, a day said as 初N is a lunar day, a neighbour is no
relative, and a name given where a death's cause is asked is kept as the name. Each conversation
drives the entry points the webhook uses (``conftest.Chat``) and compares whole replies with the copy
file."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.models import Claim
from tests.bot.dialogue.conftest import (
    IN_HOURS,
    LI_ID,
    ZHANG_PHONE,
    Chat,
    confirm,
    consent,
    render,
    text,
    verify_dialog,
)


def test_a_name_sent_after_the_report_was_offered_starts_the_report(chat: Chat) -> None:
    replies = chat.talk("我妈昨天在菜园被狗咬了脚 这个有无得赔")
    assert replies[-1].endswith(text("offer_report").render(chat))
    verify_dialog(chat, [("伊叫邱玉兰", (text("cr_start"), consent("id_number")))])
    frame = chat.state().frame
    assert frame is not None and frame.flow == "claim_report"


def test_a_bare_name_after_a_menu_with_the_report_starts_the_report(chat: Chat) -> None:
    chat.say("老人意外险报案")  # an unsure reading: the report is one of the choices
    choice = chat.state().choice
    assert chat.state().frame is None and choice is not None and "claim_report" in choice["options"]
    reply = chat.say("姚汉光")
    assert reply.startswith(text("cr_start").render(chat))
    frame = chat.state().frame
    assert frame is not None and frame.flow == "claim_report" and "name" in frame.secret


def test_a_day_said_as_chu_n_is_a_lunar_day_and_not_asked_about(chat: Chat) -> None:
    # NOW is 21 November 2026, lunar 十月十三: 初三 is 11 November
    verify_dialog(chat, [
        ("我妈初三在厝跋倒 住在潮南区人民医院", (text("cr_start"), text("cr_ask_name"))),
    ])
    notes = chat.state().notes
    assert notes.get("date") == "2026-11-11" and notes.get("date_lunar") is True
    assert "lunar_pending" not in notes


def test_a_neighbour_who_says_he_is_no_relative_is_recorded_as_non_relative(chat: Chat) -> None:
    chat.talk("隔壁阿公今早被楼上跌落的花盆砸到头 我帮他报", "阿公叫马炳坤")
    chat.say("我是他隔壁邻居，不是亲戚")
    assert chat.state().notes.get("relation") == "non_relative"


def test_a_name_at_the_cause_question_of_a_death_is_the_name_and_a_hospital_is_kept(
        chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("阮老爸走了，想问下这个老人保险怎么报", (text("condolence"), text("cr_ask_cause"))),
        ("伊叫郑德明", consent("id_number")),
        ("1", text("cr_ask_id_death")),
        (LI_ID, text("cr_ask_date_death")),
    ])
    chat.talk("前天下午跋落楼梯，头撞着，送去医院当晚就走了")
    # the hospital said after a death (where no hospital is asked) is kept, and the cause is the fall
    verify_dialog(chat, [
        ("潮南区人民医院", (text("noted"), text("cr_ask_phone"))),
        (ZHANG_PHONE, confirm(name="郑德明", relation="父亲", id_number=LI_ID, claim_type="去世了",
                              accident="摔倒", date="2026年11月19日", hospital="潮南区人民医院",
                              phone=ZHANG_PHONE, who="去世的老人")),
    ])
    chat.say("对")
    claim = db.scalars(select(Claim).order_by(Claim.id.desc())).first()
    assert claim is not None and claim.accident_type == "fall"


def test_a_relative_by_marriage_is_another_relative(chat: Chat) -> None:
    chat.say("阮大家礼拜六去菜园被人家的狗咬了脚")
    assert chat.state().notes.get("relation") == "other_relative"


def test_a_wasp_sting_is_an_accident_of_another_kind_and_a_yes_with_a_question_confirms(
        chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("阮老公前日在果园被黄蜂叮了好多下，住院了，这个能报无", (text("cr_start"), text("cr_ask_name"))),
        ("伊叫黄德才", consent("id_number")),
        ("1", text("cr_ask_id")),
        (LI_ID, text("cr_ask_hospital")),
        ("两英镇中心卫生院", text("cr_ask_phone")),
        (ZHANG_PHONE, confirm(name="黄德才", relation="老伴", id_number=LI_ID, claim_type="住院了",
                              accident="其他意外", date="2026年11月19日", hospital="两英镇中心卫生院",
                              phone=ZHANG_PHONE)),
    ])
    chat.say("对的，这个保险会赔几多钱")  # a yes first, then a question: the report is made
    claim = db.scalars(select(Claim).order_by(Claim.id.desc())).first()
    assert claim is not None and claim.accident_type == "other"


def test_a_name_corrected_at_the_consent_question_is_no_refusal(chat: Chat) -> None:
    verify_dialog(chat, [
        ("我爸昨天过马路被车撞了 在潮南区人民医院住院", (text("cr_start"), text("cr_ask_name"))),
        ("许锦标", consent("id_number")),
        ("哦不是，是许锦彪，彪是老虎那个彪", (text("noted"), consent("id_number"))),
        ("1", text("cr_ask_id")),
        (LI_ID, text("cr_ask_phone")),
        (ZHANG_PHONE, confirm(name="许锦彪", relation="父亲", id_number=LI_ID, claim_type="住院了",
                              accident="车祸", date="2026年11月20日", hospital="潮南区人民医院",
                              phone=ZHANG_PHONE)),
    ])


def test_the_accident_day_of_a_death_is_the_earlier_day_told(chat: Chat) -> None:
    chat.now = IN_HOURS  # Monday 23 November: 礼拜五 is the 20th, 昨日 the 22nd
    chat.say("阮老公礼拜五在厝门口跋倒撞着头昨日去世了")
    assert chat.state().notes.get("date") == "2026-11-20"


def test_a_day_corrected_with_no_then_yes_is_the_day_after_the_no(chat: Chat) -> None:
    verify_dialog(chat, [
        ("我妈礼拜三在菜园被狗咬了脚 住在潮南区人民医院", (text("cr_start"), text("cr_ask_name"))),
    ])
    chat.say("哦不对，是礼拜二，礼拜三是去打针")  # NOW is Saturday 21 November: 礼拜二 is the 17th
    assert chat.state().notes.get("date") == "2026-11-17"


def test_a_month_day_of_the_accident_is_kept_when_the_death_came_later(chat: Chat) -> None:
    chat.say("伊十一月十五日在厝里跋倒 头撞到 送去潮南区人民医院 住了几日 前天夜里走了")
    assert chat.state().notes.get("date") == "2026-11-15"


def test_bleeding_told_after_the_hospital_was_said_is_no_new_emergency(chat: Chat) -> None:
    chat.say("你好我阿嬷昨晚在厕所摔倒了现在在医院")
    reply = chat.say("她流了好多血，头撞到")
    assert not reply.startswith(text("emergency").render(chat)) and "120" not in reply


def test_a_death_from_a_heart_attack_is_condoled_and_not_an_emergency(chat: Chat) -> None:
    reply = chat.say("阮老爸昨暝在厝心脏病发，救护车来到人已经走了，这个老人意外险有赔无")
    assert reply.startswith(render(chat, (text("condolence"), text("excl_sudden_death")))), reply
