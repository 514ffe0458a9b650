"""Engine conversations: cancel, interruption, numbered guesses, handoff, 120, events, Redis down."""

from __future__ import annotations

import dataclasses
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.conversations.turn_models import ConversationTurn
from backend.conversations.turns import turn_text
from backend.handoff.models import HandoffRequest
from backend.handoff.service import read_summary
from backend.runtime import Runtime
from bot.dialogue.engine import build_engine
from tests.bot.dialogue.conftest import ZHANG_ID, Chat


def _handoffs(db: Session, chat: Chat) -> list[HandoffRequest]:
    db.expire_all()
    return list(db.scalars(select(HandoffRequest).where(HandoffRequest.user_id == chat.user)))


def test_cancel_leaves_the_flow(chat: Chat) -> None:
    chat.talk("我要报案", "1")
    reply = chat.say("取消")
    assert "已经取消" in reply and "我可以帮您" in reply
    # the next message is not taken as the insured's name
    assert "姓名" not in chat.say("你好")


def test_other_question_mid_flow_is_answered_then_flow_resumes(chat: Chat) -> None:
    chat.talk("我要报案", "1")
    reply = chat.say("你们电话多少")
    assert "客服电话还没有公布" in reply  # the hotline is null in the product: never invented
    assert "接着刚才的事" in reply and "姓名" in reply  # the pending question again
    assert "身份证" in chat.say("张秀英")


def test_other_flow_mid_flow_suspends_and_resumes(chat: Chat) -> None:
    chat.talk("我要报案", "1")
    assert "案件号" in chat.say("查理赔进度")
    reply = chat.say("LP26112100011")
    assert "没有查到" in reply and "接着刚才的事" in reply and "姓名" in reply


def test_low_confidence_gets_numbered_choices_and_digit_picks(chat: Chat, nlu: Any) -> None:
    text = "我那个钱"
    assert nlu.predict(text).confidence < nlu.low_confidence_threshold
    reply = chat.say(text)
    assert "您是想" in reply and "1." in reply and "回复数字即可" in reply
    options = chat.engine.store.load(chat.channel, chat.user)[0].choice
    assert options is not None and options["kind"] == "intent"
    first_label = chat.engine.copy.table("intent_labels")[options["options"][0]]
    assert f"1. {first_label}" in reply
    picked = chat.say("1")
    assert "您是想" not in picked and picked


def test_two_misunderstandings_hand_off(chat: Chat, db: Session) -> None:
    assert "您是想" in chat.say("我那个钱")
    reply = chat.say("这个那个")  # another message the model is not sure about
    assert "工作人员" in reply and "3分钟" in reply  # the product's online response standard
    [row] = _handoffs(db, chat)
    assert row.reason == "misunderstood" and row.status == "queued"


def test_two_misunderstandings_in_a_flow_hand_off(chat: Chat, db: Session) -> None:
    chat.talk("我要报案", "1", "张秀英", "1")
    assert "没太明白" in chat.say("4405")
    reply = chat.say("12345678")
    assert "工作人员" in reply
    assert [r.reason for r in _handoffs(db, chat)] == ["misunderstood"]


def test_asking_for_a_person_hands_off_once(chat: Chat, db: Session) -> None:
    assert "3分钟内" in chat.say("转人工")
    assert "已经在为您安排" in chat.say("我要找真人客服")
    [row] = _handoffs(db, chat)
    assert row.reason == "asked"


def test_angry_complaint_hands_off(chat: Chat, db: Session) -> None:
    reply = chat.say("你们办事太慢了，态度太差了！")
    assert "非常抱歉" in reply and "工作人员" in reply
    assert [r.reason for r in _handoffs(db, chat)] == ["angry"]


def test_someone_hurt_now_gets_120_first(chat: Chat) -> None:
    chat.say("我妈摔倒了起不来")
    first, *rest = chat.last
    assert "120" in first.text
    assert rest and "报案" in rest[0].text


def test_events_subscribe_menu_click_unsubscribe(chat: Chat) -> None:
    welcome = chat.send("event", event="subscribe")
    assert "欢迎" in welcome and "1. 问保险的内容" in welcome and "不用自己交钱" in welcome
    assert "受伤的是谁" in chat.send("event", event="CLICK", event_key="claim_report")
    assert "案件号" in chat.send("event", event="CLICK", event_key="claim_progress")
    assert chat.send("event", event="unsubscribe") == ""
    assert chat.last == []


def test_other_message_kinds_are_answered_politely(chat: Chat) -> None:
    assert "没听清" in chat.send("voice", text="", media_id="V1")
    assert "做什么用" in chat.send("image", media_id="IMG-1")
    assert "案件号" in chat.say("1")
    assert "上门" in chat.send("location", location=(23.25, 116.4, "峡山街道"))
    assert "链接" in chat.send("link")
    assert "视频" in chat.send("video", media_id="VID")
    assert "文件" in chat.send("file")
    assert "文字" in chat.send("unknown")
    assert chat.send("event", event="TEMPLATESENDJOBFINISH") == ""


def test_faq_answer_with_follow_up(chat: Chat) -> None:
    reply = chat.say("摔倒住院能赔多少")
    assert "30" in reply  # from the product file
    assert "回复1" in reply
    follow = chat.say("1")
    assert "材料" in follow


def test_f_r1_redis_down_still_answers(runtime: Runtime, nlu: Any, db: Session) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.2, socket_connect_timeout=0.2)
    engine = build_engine(dataclasses.replace(runtime, redis=dead), nlu=nlu)
    chat = Chat(engine)
    assert "受伤的是谁" in chat.say("我要报案")
    assert "客服电话" in chat.say("你们电话多少")
    turns = list(db.scalars(select(ConversationTurn).where(ConversationTurn.user_id == chat.user)))
    assert len(turns) == 2 and all(t.degraded for t in turns)


def test_id_number_in_free_text_is_masked_in_the_log(chat: Chat, db: Session) -> None:
    chat.say(f"帮我查一下 {ZHANG_ID} 有没有参保")
    [turn] = db.scalars(select(ConversationTurn).where(ConversationTurn.user_id == chat.user))
    text = turn_text(turn, "user_text", cipher=chat.engine.runtime.cipher)
    assert ZHANG_ID not in text and "4405**********" in text


def test_bot_stays_quiet_while_a_person_owns_the_conversation(chat: Chat, db: Session) -> None:
    assert "3分钟内" in chat.say("转人工")
    [row] = _handoffs(db, chat)
    row.status = "agent"  # an agent took the conversation (the console comes with the handoff issue)
    db.commit()
    assert chat.say("住院一天赔多少钱") == ""
    row.status = "closed"
    db.commit()
    assert "30元" in chat.say("住院一天赔多少钱")  # the bot answers again once the person is done


def test_d01_chat_texts_and_handoff_summary_are_stored_encrypted(chat: Chat, db: Session) -> None:
    said = "我妈腿摔断了在住院"
    chat.say(said)
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
