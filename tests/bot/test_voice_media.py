"""W-16 through the webhook: a voice message a customer sends about their claim is answered as its text,
recorded for download, and after the fetch job runs it is stored encrypted (as it came, an AMR voice)
and linked to the claim; the same voice from a customer with no claim is answered alike and not kept.
The real webhook, dialogue engine and job runner against the fake WeChat API, which serves the media."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time
from pathlib import Path

from sqlalchemy import select

from backend.claims import service as claims_svc
from backend.claims.attachments import FETCH_KIND, list_attachments
from backend.claims.models import ClaimAttachment
from backend.db import session_scope
from backend.jobs.registry import discover
from backend.jobs.runner import Executor
from backend.privacy.service import record_consent
from backend.runtime import Runtime
from backend.storage import LocalFileStore
from backend.worker import job_context
from tests.backend.claims.support import calendar, make_id, report_kwargs
from tests.backend.jobs.conftest import Clock
from tests.backend.notices.conftest import run_due
from tests.bot.conftest import GH_ID, Harness, inner_text_xml, uid

# AMR-NB: the magic, then 20 ms frames (a 12.2 kbit/s frame is a 0x3C header and 31 bytes).
AMR = b"#!AMR\n" + (b"\x3c" + bytes(range(31))) * 50
HEARD = "好的，谢谢你们"


def voice_xml(user: str, media_id: str, recognition: str) -> str:
    """A voice message push as WeChat sends it (with speech recognition on)."""
    return (f"<xml><ToUserName><![CDATA[{GH_ID}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId><Format><![CDATA[amr]]></Format>"
            f"<Recognition><![CDATA[{recognition}]]></Recognition><MsgId>{uid()}</MsgId></xml>")


def _customer_with_claim(wx: Harness, rt: Runtime) -> tuple[str, int]:
    """A customer who reported a claim in WeChat, agreed to the medical consent, and named the claim
    (the conversation's claim since)."""
    user = "oVoice" + uid()
    id_number = make_id("4405141953" + "0101" + "".join(random.choices("0123456789", k=3)))
    with session_scope(rt.sessions, write=True) as s:
        claim = claims_svc.report_claim(s, cipher=rt.cipher, catalog=rt.catalog, calendar=calendar(),
                                        **report_kwargs(insured_id_number=id_number))
        claim.channel, claim.reporter_openid = "official_account", user
        record_consent(s, category="medical", channel="official_account", user_id=user, actor="customer")
        s.flush()
        claim_id, case_no = claim.id, claim.case_no
    answer = _answer(wx, inner_text_xml(case_no, msg_id=uid(), user=user), user)
    assert case_no in answer, answer
    return user, claim_id


def _answer(wx: Harness, xml: str, user: str) -> str:
    before = len(wx.fake.sent)
    passive = wx.reply_fields(wx.post(xml)).get("Content", "")
    later = [str((m.get("text") or {}).get("content", "")) for m in wx.fake.sent[before:]
             if m.get("touser") == user]
    return "\n".join([passive, *later])


def test_voice_about_a_claim_is_answered_as_text_then_stored_encrypted_and_linked__w16(
        live: tuple[Harness, Runtime], tmp_path: Path) -> None:
    wx, rt = live
    typist, _ = _customer_with_claim(wx, rt)
    user, claim_id = _customer_with_claim(wx, rt)
    media_id = "MEDIA_VOICE_" + uid()
    wx.fake.media[media_id] = AMR
    typed = _answer(wx, inner_text_xml(HEARD, msg_id=uid(), user=typist), typist)
    heard = _answer(wx, voice_xml(user, media_id, HEARD), user)
    assert heard == typed and heard  # the dialogue answers the voice as its text
    with session_scope(rt.sessions) as s:
        [row] = list_attachments(s, claim_id=claim_id)
        assert (row.media_id, row.status, row.material_id) == (media_id, "pending_fetch", None)
        attachment_id = row.id

    store = LocalFileStore(tmp_path / "files", rt.cipher)
    rt.wechat_gateway = rt.wechat.processor.gateway  # as the start-up shares it (bot.startup)
    ctx = job_context(rt)
    ctx = dataclasses.replace(ctx, services={**ctx.services, "storage": store})
    assert ctx.services["wechat"].api_base_url == wx.fake.url  # the official account's API: the fake
    clock = Clock(now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))  # within minutes
    run_due(rt, Executor(ctx, discover()), clock, kinds=(FETCH_KIND,))

    with session_scope(rt.sessions) as s:
        row = s.get(ClaimAttachment, attachment_id)
        assert row is not None and row.claim_id == claim_id
        assert (row.status, row.content_type) == ("stored", "audio/amr")
        key = row.storage_key
    assert key and key.startswith("claims/") and media_id not in key
    assert store.read_all(key) == AMR  # kept as it came
    on_disk = store.path_of(key).read_bytes()
    assert AMR[6:60] not in on_disk  # encrypted at rest


def test_voice_with_no_claim_is_answered_alike_and_not_kept__w16(live: tuple[Harness, Runtime]) -> None:
    wx, rt = live
    user, typist = "oVoice" + uid(), "oVoice" + uid()
    media_id = "MEDIA_VOICE_" + uid()
    wx.fake.media[media_id] = AMR
    typed = _answer(wx, inner_text_xml("理赔要准备什么材料", msg_id=uid(), user=typist), typist)
    assert _answer(wx, voice_xml(user, media_id, "理赔要准备什么材料"), user) == typed
    with session_scope(rt.sessions) as s:
        assert s.scalar(select(ClaimAttachment).where(ClaimAttachment.media_id == media_id)) is None
