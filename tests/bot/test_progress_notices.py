"""A customer asking the bot for progress, through the real webhook and dialogue engine, is told the last
notices sent about their claim ("12月1日 已发微信通知：…"): at most two, only those that went out."""

from __future__ import annotations

import datetime as dt
import random

from backend.claims import service as claims_svc
from backend.db import session_scope
from backend.notices.models import Notice
from backend.runtime import Runtime
from tests.backend.claims.support import calendar, make_id, report_kwargs
from tests.bot.conftest import Harness, inner_text_xml, uid
from tests.support.fake_wechat import FakeWechat

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _claim_of(rt: Runtime, user: str) -> tuple[int, str]:
    """A claim this WeChat user reported (so its case number alone shows its progress)."""
    id_number = make_id("4405141953" + "0101" + "".join(random.choices("0123456789", k=3)))
    with session_scope(rt.sessions, write=True) as s:
        claim = claims_svc.report_claim(s, cipher=rt.cipher, catalog=rt.catalog, calendar=calendar(),
                                        **report_kwargs(insured_id_number=id_number))
        claim.channel, claim.reporter_openid = "official_account", user
        s.flush()
        return claim.id, claim.case_no


def _notice(rt: Runtime, claim_id: int, case_no: str, *, key: str, state: str, channel: str | None,
            sent: dt.datetime | None, stage: str) -> None:
    with session_scope(rt.sessions, write=True) as s:
        s.add(Notice(key=key, kind="claim_update", subject_type="claim", subject_id=claim_id,
                     params={"case_no": case_no, "state": stage}, state=state, channel=channel,
                     attempts=[], created_at=sent or dt.datetime.now(dt.UTC), sent_at=sent))


def _answer(wx: Harness, fake: FakeWechat, user: str, text: str) -> str:
    before = len(fake.sent)
    passive = wx.reply_fields(wx.post(inner_text_xml(text, msg_id=uid(), user=user))).get("Content", "")
    later = [str((m.get("text") or {}).get("content", "")) for m in fake.sent[before:]
             if m.get("touser") == user]
    return "\n".join([passive, *later])


def test_the_progress_answer_tells_the_last_notices_sent(live: tuple[Harness, Runtime]) -> None:
    wx, rt = live
    user = "oNotice" + uid()
    claim_id, case_no = _claim_of(rt, user)
    day = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
    _notice(rt, claim_id, case_no, key=f"t:{uid()}", state="sent", channel="sms",
            sent=day - dt.timedelta(days=9), stage="reported")  # older than the last two: not told
    _notice(rt, claim_id, case_no, key=f"t:{uid()}", state="sent", channel="sms",
            sent=day - dt.timedelta(days=5), stage="materials_pending")
    _notice(rt, claim_id, case_no, key=f"t:{uid()}", state="sent", channel="wechat_template", sent=day,
            stage="under_review")
    _notice(rt, claim_id, case_no, key=f"t:{uid()}", state="failed", channel=None, sent=None,
            stage="approved")  # never went out: not told
    answer = _answer(wx, wx.fake, user, case_no)
    assert case_no in answer, answer
    lines = [line for line in answer.splitlines() if "通知" in line]
    assert lines == ["12月1日 已发微信通知：材料齐了，正在审核",
                     "11月26日 已发短信通知：等您补交材料"], answer
    assert "审核通过" not in answer and "已收到报案" not in answer


def test_no_notice_line_before_any_notice_went_out(live: tuple[Harness, Runtime]) -> None:
    wx, rt = live
    user = "oNotice" + uid()
    claim_id, case_no = _claim_of(rt, user)
    _notice(rt, claim_id, case_no, key=f"t:{uid()}", state="pending", channel=None, sent=None,
            stage="reported")
    answer = _answer(wx, wx.fake, user, case_no)
    assert case_no in answer and "已发" not in answer, answer
