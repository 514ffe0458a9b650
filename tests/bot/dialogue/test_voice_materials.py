"""W-16 in the dialogue: a voice message sent during a claim report is kept for the claim (once the
customer agreed to the ``medical`` consent, never asked for voices alone), while its recognition is
answered as text as ever; a voice with no claim in sight is not kept; a video for a claim is refused
kindly (photos, please) and the report goes on."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.claims.attachments import list_attachments
from backend.claims.models import Claim, ClaimAttachment
from tests.bot.dialogue.conftest import (
    Chat,
    consent,
    mothers_fall_report,
    sends,
    text,
    verify_dialog,
)


def _claim(db: Session, chat: Chat) -> Claim:
    db.expire_all()
    [claim] = db.scalars(select(Claim).where(Claim.reporter_openid == chat.user))
    return claim


def _rows(db: Session, claim: Claim) -> list[tuple[str | None, str | None, str, str]]:
    db.expire_all()
    return [(a.media_id, a.material_id, a.content_type, a.status)
            for a in list_attachments(db, claim_id=claim.id)]


def test_voice_during_a_report_is_answered_as_text_and_kept_once_consent_is_given__w16(
        chat: Chat, db: Session, roster: None) -> None:
    report = mothers_fall_report()
    hospital, expected = report[4]
    assert hospital == "没有"
    verify_dialog(chat, [
        *report[:4],
        (sends("voice", text="没有", media_id="VOICE-1"), expected),  # the same answer as to the text
        *report[5:],
    ])
    done = chat.say("1")
    claim = _claim(db, chat)
    assert claim.case_no in done
    # no medical consent yet: the voice waits, and the consent question is not asked for a voice alone
    assert "同意请回复1" not in done and "哪份材料" not in done
    assert _rows(db, claim) == []
    asked = chat.send("image", media_id="PIC-1")  # a picture: the consent question, as ever
    assert asked.endswith(consent("medical").render(chat))
    which = chat.say("1")
    assert "哪份材料" in which  # about the picture only
    assert _rows(db, claim) == [("VOICE-1", None, "audio/amr", "pending_fetch"),
                                ("PIC-1", None, "image/jpeg", "pending_fetch")]
    chat.say("1")
    assert _rows(db, claim)[1][1] is not None  # the picture ticked its checklist item
    later = chat.send("voice", text="材料我明天再拍", media_id="VOICE-2")  # agreed once: kept at once
    assert "同意" not in later and "哪份材料" not in later
    assert [r[0] for r in _rows(db, claim)] == ["VOICE-1", "PIC-1", "VOICE-2"]
    assert chat.state().pending_media == []


def test_voice_without_a_claim_is_not_kept_and_answered_as_its_text__w16(chat: Chat, db: Session) -> None:
    twin = Chat(chat.engine)
    said = twin.say("理赔要准备什么材料")
    heard = chat.send("voice", text="理赔要准备什么材料", media_id="VOICE-LONE")
    assert heard == said
    assert chat.state().pending_media == []
    db.expire_all()
    assert db.scalar(select(ClaimAttachment).where(ClaimAttachment.media_id == "VOICE-LONE")) is None


def test_empty_voice_during_a_report_is_still_kept__w16(chat: Chat, db: Session, roster: None) -> None:
    report = mothers_fall_report()
    verify_dialog(chat, [
        *report[:4],
        (sends("voice", text="", media_id="VOICE-MUTE"), (text("voice_empty"), text("cr_ask_hospital"))),
    ])
    assert [e.get("media_id") for e in chat.state().pending_media] == ["VOICE-MUTE"]


def test_video_for_a_claim_asks_for_photos_and_the_report_goes_on(
        chat: Chat, db: Session, roster: None) -> None:
    report = mothers_fall_report()
    verify_dialog(chat, [
        *report[:4],
        (sends("video", media_id="VIDEO-1"), (text("video_for_claim"), text("cr_ask_hospital"))),
        *report[4:],
    ])
    assert chat.state().pending_media == []
    outside = Chat(chat.engine)
    assert outside.send("video", media_id="VIDEO-2") == text("video_received").render(outside)
