"""What sets Y and Z (two more blind authors: relatives overseas, 32/40 at first sight; customers coming
back after a report, 23/40) taught, in new sentences of the same kinds. NOW is Saturday 21 November 2026,
10:00 (outside the office hours)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.handoff.models import HandoffRequest
from backend.handoff.service import read_payload, read_summary
from tests.bot.dialogue.conftest import Chat, make_id


def _requests(chat: Chat, db: Session) -> list[tuple[str, str, dict[str, str]]]:
    rows = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)
                      .order_by(HandoffRequest.id))
    cipher = chat.engine.runtime.cipher
    return [(r.reason, read_summary(r, cipher=cipher) if r.reason == "info_update" else "",
             read_payload(r, cipher=cipher) if r.reason == "info_update" else {}) for r in rows]


def test_a_wrong_day_in_a_claim_reported_before_is_a_change_for_staff_not_a_new_report(
        chat: Chat, db: Session) -> None:
    chat.say("上礼拜帮阮阿爸报案 日期写错了")
    assert chat.flow() == "info_update"
    chat.say("案件号LP26111300061")
    reply = chat.say("唔是十月初五 是十月初四跋倒个 农历")
    [(reason, summary, payload)] = _requests(chat, db)
    assert reason == "info_update" and payload["field"] == "claim" and "LP26111300061" in summary
    assert "十月初四" in payload["value"] and "初五" not in payload["value"]  # the wrong day is not kept
    assert "已经记下" in reply and chat.flow() is None


def test_a_withdrawal_is_recorded_for_staff_to_confirm(chat: Chat, db: Session) -> None:
    chat.say("阿公讲唔想报了 上次那个撤销")
    reply = chat.say("不记得")
    [(_, summary, _)] = _requests(chat, db)
    assert "撤销报案" in summary and "确认" in reply


def test_a_death_after_the_report_goes_to_that_claim(chat: Chat, db: Session) -> None:
    chat.say("阮阿妈上个月跋倒报过案 LP26111000157")
    reply = chat.say("伊昨暝在医院走了")
    assert "死亡证明" in reply
    reasons = [r for r, _, _ in _requests(chat, db)]
    assert "info_update" in reasons and "asked" in reasons  # staff add the death; a person too
    assert chat.flow() is None  # no second report


def test_this_time_it_is_someone_else(chat: Chat) -> None:
    chat.say("我上次帮我阿爸报过 这次是我阿姆")
    assert chat.state().notes.get("relation") in ("other_relative", "mother")
    chat.forget_state()
    chat.say("我上回报我老伴的 这次报我自己")
    assert chat.state().notes.get("relation") == "self"


def test_a_stay_told_after_the_report_is_answered_not_reported_again(chat: Chat) -> None:
    chat.say("你好，我阿妈之前报过案")
    chat.say("昨天出院了，住了20天")
    assert chat.flow() != "claim_report"
    reply = chat.say("住院津贴能拿多少？要交什么材料")
    assert "600元" in reply and "病历" in reply


def test_less_money_than_expected_is_explained_by_the_stay_cap(chat: Chat) -> None:
    chat.say("赔款到了 但是怎么才2700")
    reply = chat.say("阮阿爸住了一百二十天 一天三十 应该三千六才对")
    assert "2700" in reply and "90天" in reply


def test_at_night_the_report_is_taken_once_the_old_person_is_at_hospital(chat: Chat, db: Session) -> None:
    chat.say("救命 阿妈在厝跋倒起唔来")
    chat.say("伊一个人在厝 我在香港")
    chat.say("隔壁阿婶叫了120 救护车送去潮南区人民医院")
    assert chat.flow() == "claim_report"
    assert chat.state().notes.get("relation") == "mother"  # the neighbour who called is not who was hurt


def test_a_foreign_number_is_refused_and_a_relatives_number_keeps_who_was_hurt(chat: Chat) -> None:
    chat.talk("我阿爸昨日在巷里跋倒 在潮南区人民医院住院", "阿爸叫林振强", "同意", make_id("19450923", "593"))
    assert "境外" in chat.say("电话 +852 9123 4567")
    chat.say("唔是大陆号码？ 那打我表弟 18923456701")
    assert chat.state().notes.get("relation") == "father"
    assert chat.frame_secret("phone") == "18923456701"


def test_a_number_to_change_to_after_a_report_told_by_name(chat: Chat) -> None:
    chat.say("你好 我阿爸陈木坤之前报了案")
    reply = chat.say("电话麻烦改成我妹妹的 13580246791")
    assert "135****6791" in reply and "身份证" not in reply


def test_english_from_a_grandchild_abroad(chat: Chat) -> None:
    chat.say("Hi, my grandma fell at home yesterday, now in hospital")
    assert chat.state().notes.get("accident") == "fall"
    assert chat.state().notes.get("relation") == "grandmother"


def test_a_death_in_this_times_report_for_someone_else_stays_in_this_report(chat: Chat, db: Session) -> None:
    chat.say("我上个月帮阮阿叔报过 这次是阮阿妈")
    chat.say("伊前日暗时在厝跋倒 头撞着")
    chat.say("送去医院抢救 今早走了")
    assert chat.flow() == "claim_report"
    assert [r for r, _, _ in _requests(chat, db)] == []  # no change asked to the uncle's claim
