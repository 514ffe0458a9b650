"""Claim report conversations: slot reuse, confirmation, idempotency, roster, materials pictures."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.attachments import list_attachments
from backend.claims.models import Claim
from backend.conversations.turn_models import ConversationTurn
from backend.conversations.turns import turn_text
from backend.privacy.models import ConsentEvent
from bot.dialogue.consent import ID_HELD
from bot.dialogue.copy import Copy
from tests.bot.dialogue.conftest import (
    LI_ID,
    ZHANG_ID,
    ZHANG_PHONE,
    Chat,
    Choices,
    confirm,
    consent,
    mothers_fall_report,
    sends,
    text,
    verify_dialog,
)

COPY = Copy.load()
RELATIONS = Choices("cr_ask_relation", tuple(str(o["label"]) for o in COPY.table("relation_choices")))
TYPES = Choices("cr_ask_type", ("住院了", "伤残了", "去世了"))


def _claims(db: Session, chat: Chat) -> list[Claim]:
    db.expire_all()
    return list(db.scalars(select(Claim).where(Claim.reporter_openid == chat.user).order_by(Claim.id)))


def test_report_reuses_slots_from_first_message_and_creates_claim(
    chat: Chat, db: Session, roster: None
) -> None:
    [*_, confirmed] = verify_dialog(chat, [
        # relation, date, accident type and claim type were in the message: not asked again
        ("我妈昨天在家摔倒骨折住院了", (text("cr_start"), text("cr_ask_name"))),
        # D-04: separate consent, in plain words with numbered answers, before the ID number is asked
        ("张秀英", consent("id_number")),
        ("1", text("cr_ask_id")),
        (ZHANG_ID, text("cr_ask_hospital")),
        ("潮南区人民医院", text("cr_ask_phone")),
        (ZHANG_PHONE, confirm(name="张秀英", relation="母亲", id_number=ZHANG_ID, claim_type="住院了",
                              accident="摔倒", date="2026年11月20日", hospital="潮南区人民医院",
                              phone=ZHANG_PHONE)),
    ])
    assert ZHANG_ID not in confirmed and ZHANG_PHONE not in confirmed  # masked
    assert "4405**********" in confirmed and "138****5678" in confirmed
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
    verify_dialog(chat, [
        ("我要报案", (text("cr_start"), RELATIONS)),
        ("2", text("cr_ask_name")),
        ("李阿婆", consent("id_number")),
        ("1", text("cr_ask_id")),
        (LI_ID, text("cr_ask_date")),
        ("3月40日", (text("cr_bad_date"), text("cr_ask_date"))),  # not a date: asked again
        ("前天", TYPES),
        ("1", text("cr_ask_hospital")),
        ("没有", text("cr_ask_phone")),
        (ZHANG_PHONE, text("cr_ask_what")),
        # "2. 我的父母": the ID number's sex digit (odd: a man) tells which parent
        ("在家里跌倒了", confirm(name="李阿婆", relation="父亲", id_number=LI_ID, claim_type="住院了",
                              accident="摔倒", date="2026年11月19日", hospital="没有", phone=ZHANG_PHONE)),
    ])
    done = chat.say("对")
    [claim] = _claims(db, chat)
    assert claim.case_no in done
    # not in the roster: the report is still taken, kindly, for manual review
    assert "名单里暂时没查到" in done and claim.roster_person_id is None


def test_report_death_on_a_bus_is_transport_death_with_condolences_and_the_sum(
        chat: Chat, db: Session) -> None:
    bus = "营运机动车（出租车、公交车）"
    verify_dialog(chat, [
        # condolences first, the benefit owed (30000 against 3000) and the proof to keep; no hospital question
        ("我爸坐公交车出车祸去世了", (text("condolence"),
                             text("amt_transport", label=bus, amount=30000, death=3000,
                                  proof="车票、出租车发票、公交卡乘车记录"),
                             text("amt_check"), text("cr_start"), text("cr_ask_name_death"))),
        ("王大明", consent("id_number")),
        ("1", text("cr_ask_id_death")),
        (LI_ID, text("cr_ask_date")),
        ("昨天", text("cr_ask_phone")),
        (ZHANG_PHONE, confirm(who="去世的老人", name="王大明", relation="父亲", id_number=LI_ID,
                              claim_type="坐车船飞机时去世", accident="车祸", date="2026年11月20日",
                              hospital="没有",
                              phone=ZHANG_PHONE)),
    ])
    done = chat.say("1")
    [claim] = _claims(db, chat)
    assert claim.claim_type == "transport_death"
    assert "1. 车票、船票、登机牌等乘坐凭证" in done and "死亡证明" in done  # the transport proof is listed


def test_report_deny_lets_the_customer_fix_one_item(chat: Chat, db: Session, roster: None) -> None:
    *report, (_, _) = mothers_fall_report()
    verify_dialog(chat, [
        *report,
        ("13900001111", confirm(name="张秀英", relation="母亲", id_number=ZHANG_ID, claim_type="住院了",
                                accident="摔倒", date="2026年11月20日", hospital="没有",
                                phone="13900001111")),
        ("不对", text("cr_which_wrong")),
        ("6", text("cr_ask_phone")),
        (ZHANG_PHONE, confirm(name="张秀英", relation="母亲", id_number=ZHANG_ID, claim_type="住院了",
                              accident="摔倒", date="2026年11月20日", hospital="没有", phone=ZHANG_PHONE)),
    ])
    chat.say("1")
    [claim] = _claims(db, chat)
    assert claim.reporter_phone_bidx  # the corrected phone is the one stored
    from backend.claims.models import PURPOSE_REPORTER_PHONE

    cipher = chat.engine.runtime.cipher
    assert cipher.decrypt(claim.reporter_phone_enc, purpose=PURPOSE_REPORTER_PHONE) == ZHANG_PHONE


def test_invalid_id_number_is_explained_and_asked_again(chat: Chat) -> None:
    verify_dialog(chat, [
        ("我要报案", (text("cr_start"), RELATIONS)),
        ("1", text("cr_ask_name_self")),
        ("张秀英", consent("id_number")),
        ("1", text("cr_ask_id_self")),
        (ZHANG_ID[:-1] + ("0" if ZHANG_ID[-1] != "0" else "1"),
         (text("cr_bad_id", reason="身份证号最后一位校验不对，请核对。"), text("cr_ask_id_self"))),
    ])


def test_pictures_during_and_after_a_report_tick_the_checklist(chat: Chat, db: Session, roster: None) -> None:
    report = mothers_fall_report()
    verify_dialog(chat, [
        *report[:4],
        # the pending question again
        (sends("image", media_id="MEDIA-1", pic_url="http://x/1.jpg"),
         (text("cr_images_later"), text("cr_ask_hospital"))),
        *report[4:],
    ])
    done = chat.say("1")
    # D-04: the first picture may be a medical record: separate consent first, nothing attached yet
    assert "病历、医院单据" in done and "同意请回复1" in done and "哪份材料" not in done
    assert done.endswith(consent("medical").render(chat))
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
    verify_dialog(chat, mothers_fall_report())
    rows = list(db.scalars(select(ConversationTurn).where(ConversationTurn.user_id == chat.user)))
    cipher = chat.engine.runtime.cipher  # the texts are stored encrypted (D-01): what they hold, decrypted
    dump = " ".join(f"{turn_text(t, 'user_text', cipher=cipher)} {turn_text(t, 'reply_text', cipher=cipher)} "
                    f"{t.slots}" for t in rows)
    assert "摔倒住院" in dump
    assert ZHANG_ID not in dump and ZHANG_PHONE not in dump and "张秀英" not in dump
    assert any(t.intent == "claim_report" and t.confidence and t.confidence > 0.5 for t in rows)
    assert any(t.slots.get("relation") == "mother" for t in rows)


def test_d07_no_private_values_in_redis(chat: Chat, roster: None) -> None:
    verify_dialog(chat, mothers_fall_report())
    client = chat.redis
    blob = b" ".join(client.get(k) or b"" for k in client.keys("*"))
    assert blob  # the state is there...
    for secret in (ZHANG_ID, ZHANG_PHONE, "张秀英"):
        assert secret.encode() not in blob  # ...but not in clear
    assert client.ttl(chat.state_key()) > 0


def test_d04_no_to_consent_takes_the_report_without_the_id_number(chat: Chat, db: Session) -> None:
    verify_dialog(chat, [
        ("我妈昨天在家摔倒住院了", (text("cr_start"), text("cr_ask_name"))),
        ("张秀英", consent("id_number")),
        ("2", (text("cr_no_id"), text("cr_ask_hospital"))),  # the ID number is not asked; the report goes on
        ("没有", text("cr_ask_phone")),
        (ZHANG_PHONE, confirm(name="张秀英", relation="母亲", id_number=None, claim_type="住院了",
                              accident="摔倒",
                              date="2026年11月20日", hospital="没有", phone=ZHANG_PHONE)),
    ])
    done = chat.say("1")
    [claim] = _claims(db, chat)
    assert claim.insured_id_enc is None and claim.insured_id_bidx is None  # nothing of the ID is stored
    assert claim.case_no in done and COPY.t("cr_id_to_send") in done  # the ID card comes with the materials
    rows = db.scalars(select(ConsentEvent).where(ConsentEvent.user_id == chat.user)).all()
    assert [(r.category, r.granted, r.channel) for r in rows] == [("id_number", False, "official_account")]
    # next time: asked again; yes → the ID number is asked and kept
    verify_dialog(chat, [
        ("我要报案", (text("cr_start"), RELATIONS)),
        ("1", text("cr_ask_name_self")),
        ("张秀英", consent("id_number")),
        ("1", text("cr_ask_id_self")),
    ])


def test_d04_why_the_id_number_is_needed_is_explained_with_the_other_ways(chat: Chat) -> None:
    verify_dialog(chat, [
        ("我妈昨天在家摔倒住院了", (text("cr_start"), text("cr_ask_name"))),
        ("张秀英", consent("id_number")),
        ("要身份证做什么 你们是真的保险公司吗", text("consent_why")),  # a person, an office, a home visit
        ("不同意 现在骗子好多", (text("cr_no_id"), text("cr_ask_hospital"))),  # refused: respected
    ])


def test_d04_agreed_once_not_asked_again_and_id_in_first_message_waits_for_consent(
    chat: Chat, db: Session, roster: None
) -> None:
    # an ID number in the very first message is used only once the customer agrees (and is not
    # asked again then); the consent question says so
    [first, *_] = verify_dialog(chat, [
        (f"我妈昨天在家摔倒住院了，身份证{ZHANG_ID}", (text("cr_start"), text("cr_ask_name"))),
        ("张秀英", (text("cr_id_held"), consent("id_number"))),
        ("1", text("cr_ask_hospital")),
        *mothers_fall_report()[4:],
    ])
    assert ZHANG_ID not in first
    chat.say("1")
    second = Chat(chat.engine, user=chat.user)
    verify_dialog(second, [
        ("我爸昨天摔倒住院了", (text("cr_start"), text("cr_ask_name"))),
        ("李阿公", text("cr_ask_id")),  # consent given before: straight to the question
    ])


def test_d04_an_id_number_sent_before_a_refused_consent_is_not_kept(chat: Chat, db: Session,
                                                                      roster: None) -> None:
    verify_dialog(chat, [
        (f"我妈昨天在家摔倒住院了，身份证{ZHANG_ID}", (text("cr_start"), text("cr_ask_name"))),
        ("张秀英", (text("cr_id_held"), consent("id_number"))),
        ("2", (text("cr_no_id"), text("cr_ask_hospital"))),
        ("没有", text("cr_ask_phone")),
    ])
    frame = chat.state().frame
    assert frame is not None and "id_number" not in frame.secret and ID_HELD not in frame.secret


def test_d04_bank_account_change_asks_consent_first(chat: Chat, db: Session, roster: None) -> None:
    verify_dialog(chat, [
        ("我要改银行卡", consent("id_number")),  # the ID number is asked only after its own consent
        ("1", text("iu_ask_id")),
        (ZHANG_ID, text("pl_ask_name")),
        ("张秀英", consent("bank_account")),  # 银行卡: what to change is known; the account's own consent
        ("2", text("consent_refused", label="银行卡号")),
    ])
    verify_dialog(chat, [
        # asked again in the same conversation: the ID number and name given are not asked twice,
        # and the refused consent is asked again (the customer may have changed their mind)
        ("我要改银行卡", consent("bank_account")),
        ("1", text("iu_ask_value", what="银行卡号")),
    ])
    chat.forget_state()
    verify_dialog(chat, [
        ("我要改银行卡", text("iu_ask_id")),  # a later conversation: the ID consent is not asked again
        (ZHANG_ID, text("pl_ask_name")),
        ("张秀英", text("iu_ask_value", what="银行卡号")),
    ])
