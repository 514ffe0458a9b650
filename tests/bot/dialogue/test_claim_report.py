"""Claim report conversations: slot reuse, confirmation, idempotency, roster, materials pictures."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.claims.attachments import list_attachments
from backend.claims.models import Claim
from backend.conversations.turn_models import ConversationTurn
from backend.conversations.turns import turn_text
from backend.privacy.models import ConsentEvent
from tests.bot.dialogue.conftest import LI_ID, ZHANG_ID, ZHANG_PHONE, Chat


def _claims(db: Session, chat: Chat) -> list[Claim]:
    db.expire_all()
    return list(db.scalars(select(Claim).where(Claim.reporter_openid == chat.user).order_by(Claim.id)))


def test_report_reuses_slots_from_first_message_and_creates_claim(
    chat: Chat, db: Session, roster: None
) -> None:
    first = chat.say("我妈昨天在家摔倒骨折住院了")
    # relation, date, accident type and claim type were in the message: not asked again
    assert "姓名" in first and "受伤的是谁" not in first
    consent = chat.say("张秀英")
    # D-04: separate consent, in plain words with numbered answers, before the ID number is asked
    assert "身份证号码" in consent and "同意请回复1" in consent and "不同意回复2" in consent
    assert "发一下受伤老人的身份证" in chat.say("1")
    assert "在哪里" in chat.say(ZHANG_ID)
    assert "医院" in chat.say("在菜市场")
    assert "电话" in chat.say("潮南区人民医院")
    confirm = chat.say(ZHANG_PHONE)
    assert "2026年11月20日" in confirm and "住院" in confirm and "摔倒" in confirm
    assert ZHANG_ID not in confirm and ZHANG_PHONE not in confirm  # masked
    assert "4405**********" in confirm and "138****5678" in confirm
    done = chat.say("1")
    [claim] = _claims(db, chat)
    assert claim.case_no in done
    assert claim.claim_type == "hospital_allowance"
    assert claim.accident_type == "fall" and claim.reporter_relation == "mother"
    assert claim.roster_person_id is not None
    assert "病历" in done and "收款银行卡" in done  # the product's checklist
    assert "3个工作日" in done  # from service_standards
    assert "名单里暂时没查到" not in done


def test_report_asks_everything_with_numbered_choices(chat: Chat, db: Session) -> None:
    first = chat.say("我要报案")
    assert "受伤的是谁" in first and "1." in first and "回复数字即可" in first
    assert "姓名" in chat.say("2")
    chat.say("李阿婆")
    chat.say("1")
    kind = chat.say(LI_ID)
    assert "什么情况" in kind and "3. 去世了" in kind
    assert "怎么受伤" in chat.say("1")
    assert "哪天" in chat.say("在家里跌倒了")
    assert "哪天" in chat.say("3月40日")  # not a date: asked again
    chat.say("前天")
    chat.say("家里")
    chat.say("没有")
    confirm = chat.say(ZHANG_PHONE)
    assert "医院：没有" in confirm and "2026年11月19日" in confirm
    done = chat.say("对")
    [claim] = _claims(db, chat)
    assert claim.case_no in done
    # not in the roster: the report is still taken, kindly, for manual review
    assert "名单里暂时没查到" in done and claim.roster_person_id is None


def test_report_death_on_a_bus_is_transport_death(chat: Chat, db: Session) -> None:
    chat.say("我爸坐公交车出车祸去世了")
    chat.talk("王大明", "1", LI_ID, "昨天", "公交车上", "没有")
    chat.say(ZHANG_PHONE)
    chat.say("1")
    [claim] = _claims(db, chat)
    assert claim.claim_type == "transport_death"


def test_report_deny_lets_the_customer_fix_one_item(chat: Chat, db: Session, roster: None) -> None:
    chat.talk("我妈昨天在家摔倒住院了", "张秀英", "1", ZHANG_ID, "家里", "没有")
    chat.say("13900001111")
    assert "哪一项不对" in chat.say("不对")
    assert "电话" in chat.say("7")
    confirm = chat.say(ZHANG_PHONE)
    assert "138****5678" in confirm
    chat.say("1")
    [claim] = _claims(db, chat)
    assert claim.reporter_phone_bidx  # the corrected phone is the one stored
    from backend.claims.models import PURPOSE_REPORTER_PHONE

    cipher = chat.engine.runtime.cipher
    assert cipher.decrypt(claim.reporter_phone_enc, purpose=PURPOSE_REPORTER_PHONE) == ZHANG_PHONE


def test_f_p2_repeated_confirmation_creates_one_claim(chat: Chat, db: Session, roster: None) -> None:
    chat.talk("我妈昨天在家摔倒住院了", "张秀英", "1", ZHANG_ID, "家里", "没有", ZHANG_PHONE)
    state_before = chat.engine.store._client.get(chat.engine.store.key(chat.channel, chat.user))
    msg = chat.message("text", "1")
    first = chat.send_message(msg)
    # WeChat redelivers the same message: same answer, nothing done twice (W-09)
    again = chat.send_message(msg)
    assert again == first
    # the state was lost after the commit (e.g. Redis hiccup): the same "yes" is sent again
    chat.engine.store._client.set(chat.engine.store.key(chat.channel, chat.user), state_before)
    third = chat.say("1")
    claims = _claims(db, chat)
    assert len(claims) == 1
    assert claims[0].case_no in third
    turns = db.scalar(
        select(func.count()).select_from(ConversationTurn).where(ConversationTurn.msg_key == msg.msg_key)
    )
    assert turns == 1


def test_invalid_id_number_is_explained_and_asked_again(chat: Chat) -> None:
    chat.talk("我要报案", "1", "张秀英", "1")
    reply = chat.say(ZHANG_ID[:-1] + ("0" if ZHANG_ID[-1] != "0" else "1"))
    assert "校验不对" in reply and "再发一次" in reply


def test_pictures_during_and_after_a_report_tick_the_checklist(chat: Chat, db: Session, roster: None) -> None:
    chat.talk("我妈昨天在家摔倒住院了", "张秀英", "1", ZHANG_ID)
    during = chat.send("image", media_id="MEDIA-1", pic_url="http://x/1.jpg")
    assert "报案办完后" in during and "在哪里" in during  # the pending question again
    chat.talk("家里", "没有", ZHANG_PHONE)
    done = chat.say("1")
    # D-04: the first picture may be a medical record: separate consent first, nothing attached yet
    assert "病历、医院单据" in done and "同意请回复1" in done and "哪份材料" not in done
    [claim] = _claims(db, chat)
    assert list_attachments(db, claim_id=claim.id) == []
    which = chat.say("1")
    assert "哪份材料" in which and "1. 住院证明" in which
    ticked = chat.say("3")
    assert "病历" in ticked and "还差" in ticked
    after = chat.send("image", media_id="MEDIA-2")
    assert "哪份材料" in after and "同意" not in after  # agreed once: not asked again
    chat.say("1")
    db.expire_all()
    received = {m.material_id for m in claim.materials if m.received}
    assert received == {"medical_record", "hospitalisation_proof"}
    # W-16: each picture is a claim attachment waiting for the download job, not a turn-log slot
    rows = [(a.media_id, a.material_id, a.status, a.channel)
            for a in list_attachments(db, claim_id=claim.id)]
    assert rows == [("MEDIA-1", "medical_record", "pending_fetch", "official_account"),
                    ("MEDIA-2", "hospitalisation_proof", "pending_fetch", "official_account")]
    turns = db.scalars(select(ConversationTurn).where(ConversationTurn.user_id == chat.user))
    assert not [t for t in turns if t.slots.get("media_id")]


def test_d02_turn_log_masks_private_values(chat: Chat, db: Session, roster: None) -> None:
    chat.talk("我妈昨天在家摔倒住院了", "张秀英", "1", ZHANG_ID, "家里", "没有", ZHANG_PHONE)
    rows = list(db.scalars(select(ConversationTurn).where(ConversationTurn.user_id == chat.user)))
    cipher = chat.engine.runtime.cipher  # the texts are stored encrypted (D-01): what they hold, decrypted
    dump = " ".join(f"{turn_text(t, 'user_text', cipher=cipher)} {turn_text(t, 'reply_text', cipher=cipher)} "
                    f"{t.slots}" for t in rows)
    assert "摔倒住院" in dump
    assert ZHANG_ID not in dump and ZHANG_PHONE not in dump and "张秀英" not in dump
    assert any(t.intent == "claim_report" and t.confidence and t.confidence > 0.5 for t in rows)
    assert any(t.slots.get("relation") == "mother" for t in rows)


def test_d07_no_private_values_in_redis(chat: Chat, roster: None) -> None:
    chat.talk("我妈昨天在家摔倒住院了", "张秀英", "1", ZHANG_ID, "家里", "没有", ZHANG_PHONE)
    client = chat.engine.store._client
    blob = b" ".join(client.get(k) or b"" for k in client.keys("*"))
    assert blob  # the state is there...
    for secret in (ZHANG_ID, ZHANG_PHONE, "张秀英"):
        assert secret.encode() not in blob  # ...but not in clear
    assert client.ttl(chat.engine.store.key(chat.channel, chat.user)) > 0


def test_d04_no_to_consent_ends_kindly_and_offers_a_person(chat: Chat, db: Session) -> None:
    chat.talk("我妈昨天在家摔倒住院了")
    assert "同意请回复1" in chat.say("张秀英")
    reply = chat.say("2")
    assert "不会用您的身份证号码" in reply and "转人工" in reply
    assert "身份证号码（18位）" not in reply  # the ID number is not asked
    assert _claims(db, chat) == []
    rows = db.scalars(select(ConsentEvent).where(ConsentEvent.user_id == chat.user)).all()
    assert [(r.category, r.granted, r.channel) for r in rows] == [("id_number", False, "official_account")]
    # next time: asked again; yes → the report goes on and the claim is created
    chat.say("我要报案")
    chat.say("1")
    assert "同意请回复1" in chat.say("张秀英")
    assert "身份证号码（18位）" in chat.say("1")
    chat.talk(ZHANG_ID, "1", "在家里摔倒了", "昨天", "家里", "没有", ZHANG_PHONE, "1")
    [claim] = _claims(db, chat)
    assert claim.reporter_openid == chat.user


def test_d04_agreed_once_not_asked_again_and_id_in_first_message_waits_for_consent(
    chat: Chat, db: Session, roster: None
) -> None:
    # an ID number in the very first message is not kept before the customer agrees
    first = chat.say(f"我妈昨天在家摔倒住院了，身份证{ZHANG_ID}")
    assert ZHANG_ID not in first
    chat.say("张秀英")
    assert "发一下受伤老人的身份证" in chat.say("1")
    chat.talk(ZHANG_ID, "家里", "没有", ZHANG_PHONE, "1")
    second = Chat(chat.engine, user=chat.user)
    second.say("我爸昨天摔倒住院了")
    assert "身份证号码（18位）" in second.say("李阿公")  # consent given before: straight to the question


def test_d04_bank_account_change_asks_consent_first(chat: Chat, db: Session, roster: None) -> None:
    chat.talk("我要改银行卡", ZHANG_ID, "张秀英")
    ask = chat.say("2")
    assert "银行卡号" in ask and "同意请回复1" in ask
    refused = chat.say("2")
    assert "不会用您的银行卡号" in refused
    chat.talk("我要改银行卡", ZHANG_ID, "张秀英", "2")
    assert "新的银行卡号" in chat.say("1")
