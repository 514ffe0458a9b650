"""Engine conversations: cancel, interruption, numbered guesses, handoff, 120, events, Redis down."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.numbers import format_case_number
from backend.complaints.models import Complaint
from backend.conversations.turn_models import ConversationTurn
from backend.conversations.turns import turn_text
from backend.handoff import agents
from backend.handoff.messages import read_text
from backend.handoff.models import HandoffMessage, HandoffRequest
from backend.handoff.queue import SLA_KIND
from backend.handoff.service import read_summary, set_agent_owned
from backend.jobs.models import Job
from backend.runtime import Runtime
from bot.dialogue.copy import Copy
from bot.dialogue.engine import build_engine
from config.settings import CONFIG_DIR
from tests.bot.dialogue.conftest import (
    IN_HOURS,
    NOW,
    ZHANG_ID,
    ZHANG_PHONE,
    Chat,
    Choices,
    Faq,
    consent,
    queued,
    render,
    sends,
    text,
    verify_dialog,
)
from tests.support.servers import dead_redis

COPY = Copy.load()
RELATIONS = Choices("cr_ask_relation", tuple(str(o["label"]) for o in COPY.table("relation_choices")))
REPORT = (text("cr_start"), RELATIONS)
STUCK = Choices("stuck", (COPY.t("stuck_person"), COPY.t("stuck_again")))
CONTACT = (text("ct_no_hotline"), text("ct_no_offices"), text("ct_hours", open="09:00", close="17:00"))
MINUTES = 3  # the product's online first-response standard
SHANTOU = ZoneInfo("Asia/Shanghai")


def _handoffs(db: Session, chat: Chat) -> list[HandoffRequest]:
    db.expire_all()
    return list(db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)))


def test_cancel_leaves_the_flow(chat: Chat) -> None:
    verify_dialog(chat, [
        ("我要报案", REPORT),
        ("1", text("cr_ask_name_self")),
        ("取消", (text("cancelled"), text("menu"))),
        ("你好", (text("hello"), text("menu"))),  # not taken as the insured's name
    ])


def test_other_question_mid_flow_is_answered_then_flow_resumes(chat: Chat) -> None:
    verify_dialog(chat, [
        ("我要报案", REPORT),
        ("1", text("cr_ask_name_self")),
        # the hotline is null in the product: never invented; then the pending question again
        ("你们电话多少", (*CONTACT, text("resume"), text("cr_ask_name_self"))),
        ("张秀英", consent("id_number")),
    ])


def test_other_flow_mid_flow_suspends_and_resumes(chat: Chat) -> None:
    verify_dialog(chat, [
        ("我要报案", REPORT),
        ("1", text("cr_ask_name_self")),
        ("查理赔进度", text("cp_ask")),
        # no case number we know: the ID number is the other way in (after its consent)
        ("LP26112100011", (text("cp_case_unknown"), consent("id_number"))),
        ("2", (text("consent_refused", label="身份证号码"), text("resume"), text("cr_ask_name_self"))),
    ])


def test_low_confidence_gets_numbered_choices_and_digit_picks(chat: Chat, nlu: Any) -> None:
    text_ = "钱的事情"
    assert nlu.predict(text_).confidence < nlu.low_confidence_threshold
    reply = chat.say(text_)
    options = chat.state().choice
    assert options is not None and options["kind"] == "intent"
    labels = tuple(COPY.table("intent_labels")[i] for i in options["options"])
    assert reply == render(chat, Choices("did_you_mean", labels))
    picked = chat.say("1")
    assert "您是想" not in picked and picked


def test_three_misunderstandings_hand_off(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    assert "您是想" in chat.say("钱的事情")
    assert "您是想" in chat.say("这个那个")  # another message the model is not sure about
    assert _handoffs(db, chat) == []
    verify_dialog(chat, [("呃呃呃", queued("handoff_misunderstood"))])
    [row] = _handoffs(db, chat)
    assert row.reason == "misunderstood" and row.status == "queued"


def test_three_misunderstandings_in_a_flow_hand_off(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    verify_dialog(chat, [
        ("我要报案", REPORT),
        ("1", text("cr_ask_name_self")),
        ("张秀英", consent("id_number")),
        ("1", text("cr_ask_id_self")),
        ("4405", (text("not_understood"), text("cr_ask_id_self"))),
        # the second answer in a row that does not answer: another way, never the same question again
        ("98765432", (text("cr_bad_id", reason="身份证号应为18位。"), STUCK)),
        ("abc", queued("handoff_misunderstood")),
    ])
    assert [r.reason for r in _handoffs(db, chat)] == ["misunderstood"]


def test_questions_the_bot_can_answer_never_hand_off(chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("住院一日给几多", (Faq("hospital_allowance"), text("faq_followup", label="理赔要交什么材料"))),
        ("你们食饭未", text("small_talk")),  # small talk: a friendly word, no menu, no miss
        ("十级伤残赔多少", (text("amt_disability", grade=10, amount=300, sum=3000, percent=10),
                       text("amt_disability_rule"), text("amt_check"))),
        ("好啦", text("ack")),
    ])
    assert _handoffs(db, chat) == []


def test_asking_for_a_person_hands_off_once(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    verify_dialog(chat, [
        ("转人工", queued()),
        ("我要找真人客服", ""),  # the bot is quiet while queued: the person reads it
    ])
    [row] = _handoffs(db, chat)
    assert row.reason == "asked" and row.unread == 1


def test_with_an_agent_online_the_three_minute_promise_holds_and_the_wait_is_told(
        chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    agents.set_state(db, chat.redis, 7301, "online", chat.now)
    db.commit()
    # one free slot: answered once the agent has read the history (answer_delay_s, 30 s), within 2 minutes
    told = text("handoff_wait_first", low=1, high=2)
    verify_dialog(chat, [("转人工", (text("handoff", minutes=MINUTES), told))])
    [row] = _handoffs(db, chat)
    assert (row.told_low_s, row.told_high_s) == (0, 120)


def test_while_queued_only_cancel_emergency_and_call_back_get_an_answer(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    verify_dialog(chat, [
        ("转人工", queued()),
        ("我的案子到哪一步了", ""),
        ("我妈摔倒了起不来", text("handoff_emergency")),  # 120 first, even while waiting
        ("回电", text("handoff_callback_noted")),
        ("取消", text("handoff_cancelled")),  # back to the bot
        ("住院一天赔多少钱", (Faq("hospital_allowance"), text("faq_followup", label="理赔要交什么材料"))),
    ])
    rows = db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)
                      .order_by(HandoffRequest.id)).all()
    chat_row, callback = rows
    assert (chat_row.status, chat_row.disposition, chat_row.priority) == ("closed", "cancelled", 0)
    assert callback.reason == "callback"
    texts = [read_text(m, cipher=chat.engine.runtime.cipher) for m in db.scalars(
        select(HandoffMessage).where(HandoffMessage.handoff_id == chat_row.id).order_by(HandoffMessage.id))]
    assert texts == ["我的案子到哪一步了", "我妈摔倒了起不来", "回电"]  # all of it reached the person


def test_outside_service_hours_the_hours_are_told_and_the_message_waits_for_the_morning(
        chat: Chat, db: Session) -> None:
    assert NOW.astimezone(SHANTOU).weekday() == 5  # Saturday 10:00: nobody answers until Monday 08:30
    verify_dialog(chat, [
        ("转人工", text("handoff_closed_hours", hours="11月23日8点半")),
        ("我想问我妈的理赔钱几时到", text("handoff_message_noted")),  # once
        ("卡号改了", ""),
    ])
    [row] = _handoffs(db, chat)
    monday = dt.datetime(2026, 11, 23, 8, 30, tzinfo=SHANTOU)
    assert row.status == "queued" and row.queued_at is not None
    assert row.queued_at == monday  # the 3-minute clock starts at the opening
    due = sorted(j.due_at for j in db.scalars(
        select(Job).where(Job.kind == SLA_KIND, Job.key.like(f"{row.id}:%"))))
    assert due == [monday + dt.timedelta(minutes=2), monday + dt.timedelta(minutes=3)]
    assert row.unread == 2


def test_after_the_agent_closes_the_first_digit_is_the_rating(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    verify_dialog(chat, [("转人工", queued())])
    [row] = _handoffs(db, chat)
    row.status, row.agent_id, row.closed_at = "closed", 7302, chat.now
    db.commit()
    verify_dialog(chat, [("5", text("handoff_rate_thanks"))])
    db.expire_all()
    assert db.get(HandoffRequest, row.id).rating == 5  # type: ignore[union-attr]
    assert chat.say("4") != render(chat, text("handoff_rate_thanks"))  # once: then a digit is the bot's
    db.expire_all()
    assert db.get(HandoffRequest, row.id).rating == 5  # type: ignore[union-attr]


def test_angry_complaint_is_filed_then_a_person_takes_over(chat: Chat, db: Session) -> None:
    verify_dialog(chat, [("你们办事太慢了，态度太差了！", (text("cc_sorry"), text("cc_ask_phone")))])
    assert _handoffs(db, chat) == []
    done = chat.say(ZHANG_PHONE)
    [c] = db.scalars(select(Complaint).where(Complaint.openid == chat.user))
    done_text = text("cc_done", number=c.complaint_no, ack_hours=24, days=15)
    assert done == render(chat, (done_text, text("cc_person")))
    assert [r.reason for r in _handoffs(db, chat)] == ["angry"]


def test_events_subscribe_menu_click_unsubscribe(chat: Chat) -> None:
    [welcome, *_] = verify_dialog(chat, [
        (sends("event", event="subscribe"), (text("welcome", product="老年人意外险", region="潮南区"),
                                             text("menu"))),
        (sends("event", event="CLICK", event_key="CLAIM_REPORT"), REPORT),  # config/wechat_menu.yaml
        (sends("event", event="CLICK", event_key="CLAIM_PROGRESS"), text("cp_ask")),
        (sends("event", event="unsubscribe"), ""),
    ])
    assert "1. 问保险的内容" in welcome and "不用自己交钱" in welcome
    assert chat.last == []


def test_every_published_menu_button_leads_to_its_flow(chat: Chat, db: Session) -> None:
    """The keys the menu is published with (config/wechat_menu.yaml) are the keys the dialogue knows:
    人工客服 calls a person in, not the menu again (set O: a daughter pressed it and got the menu)."""
    menu = yaml.safe_load((CONFIG_DIR / "wechat_menu.yaml").read_text(encoding="utf-8"))
    keys = [b["key"] for top in menu["button"] for b in [top, *top.get("sub_button", [])] if "key" in b]
    assert sorted(keys) == sorted(chat.engine.copy.table("menu_keys"))
    chat.now = IN_HOURS
    verify_dialog(chat, [(sends("event", event="CLICK", event_key="HUMAN_AGENT"), queued())])
    assert [r.reason for r in _handoffs(db, chat)] == ["asked"]


def test_other_message_kinds_are_answered_for_what_they_are(chat: Chat) -> None:
    """Issue 8 item 3: pictures, voice without recognition, video, location and links outside a flow."""
    verify_dialog(chat, [
        (sends("voice", text="", media_id="V1"), text("voice_empty")),  # 没听清，请再说一遍或打字
        (sends("image", media_id="IMG-1"), text("image_what_for")),  # 是理赔材料吗？案件号，或回复1报案
        ("1", REPORT),
        ("取消", (text("cancelled"), text("menu"))),
        (sends("location", location=(23.25, 116.4, "峡山街道")), text("location_received")),  # thanked for
        (sends("link"), text("link_received")),
        (sends("video", media_id="VID"), text("video_received")),
        (sends("file"), text("file_received")),
        (sends("unknown"), text("unknown_kind")),
        (sends("event", event="TEMPLATESENDJOBFINISH"), ""),
    ])
    assert "这个我答不了" not in render(chat, text("image_what_for"))


def test_a_picture_then_its_case_number_goes_to_that_claim(chat: Chat) -> None:
    verify_dialog(chat, [
        (sends("image", media_id="IMG-2"), text("image_what_for")),
        # someone else's case, or none: the insured's ID number is asked either way (nothing revealed)
        (f"案件号{format_case_number('LP', '261121', 99)}", text("mt_ask_id")),
    ])


def test_location_inside_a_flow_is_used_where_a_place_is_asked(chat: Chat) -> None:
    verify_dialog(chat, [
        ("我腿脚不方便能上门办吗", text("hv_ask_address")),
        (sends("location", location=(23.25, 116.4, "峡山街道某村")), text("hv_ask_phone")),
    ])
    assert chat.state().frame is not None and "address" in chat.state().frame.secret


def test_faq_answer_with_follow_up(chat: Chat) -> None:
    replies = verify_dialog(chat, [
        ("摔倒住院能赔多少", (Faq("hospital_allowance"), text("faq_followup", label="理赔要交什么材料"))),
        ("1", (Faq("claim_materials"), text("faq_followup", label="在哪里可以申请理赔"))),
    ])
    assert "30" in replies[0] and "材料" in replies[1]  # from the product file
    assert chat.offline_turns == 2  # answered without the database, as the webhook's fast path does


def test_f_r1_redis_down_still_answers(runtime: Runtime, nlu: Any, db: Session) -> None:
    dead = dead_redis()
    engine = build_engine(dataclasses.replace(runtime, redis=dead), nlu=nlu)
    chat = Chat(engine)
    verify_dialog(chat, [
        ("我要报案", REPORT),
        ("你们电话多少", CONTACT),
    ])
    turns = list(db.scalars(select(ConversationTurn).where(ConversationTurn.user_id == chat.user)))
    assert len(turns) == 2 and all(t.degraded for t in turns)


def test_id_number_in_free_text_is_masked_in_the_log(chat: Chat, db: Session) -> None:
    chat.say(f"帮我查一下 {ZHANG_ID} 有没有参保")
    [turn] = db.scalars(select(ConversationTurn).where(ConversationTurn.user_id == chat.user))
    text = turn_text(turn, "user_text", cipher=chat.engine.runtime.cipher)
    assert ZHANG_ID not in text and "4405**********" in text


def test_bot_stays_quiet_while_a_person_owns_the_conversation(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    verify_dialog(chat, [("转人工", queued())])
    [row] = _handoffs(db, chat)
    row.status = "agent"  # an agent took the conversation (the console comes with the handoff issue)
    db.commit()
    set_agent_owned(chat.redis, channel=chat.channel, user_id=chat.user, owned=True)  # as the console will
    verify_dialog(chat, [("住院一天赔多少钱", "")])
    row.status = "closed"
    db.commit()
    set_agent_owned(chat.redis, channel=chat.channel, user_id=chat.user, owned=False)
    # the bot answers again once the person is done
    verify_dialog(chat, [("住院一天赔多少钱", (Faq("hospital_allowance"),
                                          text("faq_followup", label="理赔要交什么材料")))])
    assert "30元" in chat.last[0].text


def test_d01_chat_texts_and_handoff_summary_are_stored_encrypted(chat: Chat, db: Session) -> None:
    chat.now = IN_HOURS
    said = "我妈腿摔断了在住院"
    chat.say(said)
    agents.set_state(db, chat.redis, 7303, "online", chat.now)
    db.commit()
    assert "3分钟内" in chat.say("转人工")
    db.expire_all()
    turns = db.execute(select(ConversationTurn.__table__).where(ConversationTurn.user_id == chat.user)).all()
    handoffs = db.execute(select(HandoffRequest.__table__).where(HandoffRequest.user_id == chat.user)).all()
    assert len(turns) == 2 and len(handoffs) == 1
    raw = " ".join(str(v) for row in [*turns, *handoffs] for v in row)
    assert "摔断" not in raw and "住院" not in raw and "3分钟内" not in raw
    first, second = db.scalars(select(ConversationTurn).where(ConversationTurn.user_id == chat.user)
                               .order_by(ConversationTurn.id))
    cipher = chat.engine.runtime.cipher
    assert turn_text(first, "user_text", cipher=cipher) == said
    assert "3分钟内" in turn_text(second, "reply_text", cipher=cipher)
    [request] = _handoffs(db, chat)
    assert read_summary(request, cipher=cipher) == "转人工" == request.summary_snippet  # short: all of it
