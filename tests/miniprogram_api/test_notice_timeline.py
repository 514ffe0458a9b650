"""The notices sent about a claim are on its timeline in the mini-program (the timeline source the notices
domain registers at start-up), in plain words; notices not sent are not."""

from __future__ import annotations

import datetime as dt

from backend.notices.models import Notice
from tests.miniprogram_api.conftest import API, MP


def test_notices_sent_are_on_the_claim_timeline(mp: MP) -> None:
    headers, claim = mp.claim()
    sent = dt.datetime.now(dt.UTC)
    for i, (state, channel) in enumerate([("sent", "wechat_template"), ("failed", None)]):
        mp.db.add(Notice(key=f"timeline-test:{claim['id']}:{i}", kind="claim_update", subject_type="claim",
                         subject_id=claim["id"],
                         params={"case_no": claim["case_no"], "state": "under_review"},
                         state=state, channel=channel, attempts=[], created_at=sent,
                         sent_at=sent if state == "sent" else None))
    mp.db.flush()
    detail = mp.client.get(f"{API}/claims/{claim['id']}", headers=headers).json()
    notices = [t for t in detail["timeline"] if t["kind"] == "notice"]
    assert [(t["title"], t["detail"]) for t in notices] == [("已发微信通知", "材料齐了，正在审核")]
