"""WeChat's platform pushes with nested XML (issue 8, item 2): answered ``success``, and the subscribe-message
events fed into the ledger of ``backend.notifications`` exactly once, with the message's inbox row.

The pushes are the published samples (``tests/support/wechat_samples.py``: wechatpy's tests and WeChat's
pages), signed and encrypted as WeChat sends them.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from backend.notifications import subscriptions as subs
from backend.notifications.models import SubscriptionGrant
from backend.runtime import Runtime
from bot.contract import InboundMessage
from bot.inbound import parse_document, to_inbound
from tests.bot.conftest import GH_ID, Harness, build_harness, failing_commits
from tests.support.fake_wechat import FakeWechat
from tests.support.wechat_samples import DOCUMENTED_SAMPLES, WECHATPY_SAMPLES, Sample, sample

CHANNEL = "official_account"
SAMPLE_USER = "otFpruAK8D-E6EfStSYonYSBZ8_4"  # the subscriber of WeChat's subscribe-message samples
ACCEPTED = "VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc"  # accepted in the popup sample
REJECTED = "9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI"  # rejected in the popup sample
POPUP = sample("test_template_subscribe_msg_popup_event")
CHANGE = sample("test_template_subscribe_msg_change_event")
SENT = sample("test_template_subscribe_msg_sent_event")
NESTED = ("test_mass_send_job_finish_event", "test_shakearound_user_shake_event",
          "test_template_subscribe_msg_popup_event", "test_template_subscribe_msg_change_event",
          "test_template_subscribe_msg_sent_event", "test_scan_code_push_event", "test_pic_sysphoto_event",
          "test_location_select_event")


def uid() -> str:
    return str(uuid.uuid4().int % 10**18)


def as_user(xml: str, user: str, *, create_time: int | None = None) -> str:
    """The sample as sent by another subscriber (and at another time): its own message key."""
    out = re.sub(r"<FromUserName><!\[CDATA\[.*?\]\]></FromUserName>",
                 f"<FromUserName><![CDATA[{user}]]></FromUserName>", xml, count=1)
    if create_time is not None:
        out = out.replace("<CreateTime>1610969440</CreateTime>", f"<CreateTime>{create_time}</CreateTime>")
    return out


def grants(wx: Harness, user: str) -> list[SubscriptionGrant]:
    with wx.runtime.sessions() as s:
        return list(s.scalars(select(SubscriptionGrant).where(SubscriptionGrant.openid == user)
                              .order_by(SubscriptionGrant.id)).all())


def balance(wx: Harness, user: str) -> dict[str, tuple[int, str | None]]:
    with wx.runtime.sessions() as s:
        return {b.template_id: (b.available, b.status)
                for b in subs.balances(s, channel=CHANNEL, openid=user)}


def _field(xml: str, name: str) -> str:
    found = re.search(rf"<{name}>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</{name}>", xml, re.DOTALL)
    return found.group(1) if found else ""


def msg_key(xml: str) -> str:
    """The inbox key WeChat's dedupe rule gives a push: MsgId, else sender + CreateTime + event."""
    if _field(xml, "MsgType") != "event" and _field(xml, "MsgId"):
        return "m:" + _field(xml, "MsgId")
    event = _field(xml, "Event").lower() or _field(xml, "MsgType")
    return f"e:{_field(xml, 'FromUserName')}:{_field(xml, 'CreateTime')}:{event}"


@pytest.mark.parametrize("name", NESTED)
def test_nested_platform_push_answered_success__w13(wx: Harness, name: str) -> None:
    harness_xml = _to_us(as_user(sample(name), "oNest" + uid()))
    r = wx.post(harness_xml)
    assert r.status_code == 200
    if name.startswith(("test_template", "test_mass", "test_shake")):
        assert r.text == "success" and wx.handler.calls == []  # platform pushes: no dialogue turn
    assert len(wx.inbox(msg_key(harness_xml))) == 1


def _to_us(xml: str) -> str:
    """A sample addressed to our account (the webhook refuses pushes for another one, W-07)."""
    start = xml.index("<ToUserName><![CDATA[") + len("<ToUserName><![CDATA[")
    end = xml.index("]]>", start)
    return xml[:start] + GH_ID + xml[end:]


@pytest.fixture
def any_account(live_runtime: Runtime, fake_wechat: FakeWechat) -> Iterator[Harness]:
    """A webhook that does not check the addressee: WeChat's samples are addressed to sample accounts."""
    harness, client = build_harness(live_runtime, fake_wechat, original_id="")
    with client:
        yield harness
    live_runtime.wechat.processor.close()


def test_every_published_sample_is_answered_and_stored(any_account: Harness) -> None:
    """Every message and event sample of wechatpy's tests, and WeChat's documented nested pushes, through
    the webhook verbatim: none gets a 4xx/5xx, and each message key gets its inbox row."""
    wx = any_account
    samples: tuple[Sample, ...] = WECHATPY_SAMPLES + DOCUMENTED_SAMPLES
    assert len(samples) == 53
    for s in samples:
        r = wx.post(s.xml)
        assert r.status_code == 200, s.source
        if r.text != "success":
            assert wx.reply_fields(r)["MsgType"] == "text", s.source  # a passive reply, encrypted
    for s in samples:
        assert len(wx.inbox(msg_key(s.xml))) == 1, s.source


def test_popup_accept_adds_one_send_and_reject_records_a_refusal(wx: Harness) -> None:
    user = "oPop" + uid()
    r = wx.post(_to_us(as_user(POPUP, user)))
    assert r.status_code == 200 and r.text == "success" and wx.handler.calls == []
    assert balance(wx, user) == {ACCEPTED: (1, "accept"), REJECTED: (0, "reject")}
    [grant] = grants(wx, user)
    assert (grant.template_id, grant.source, grant.channel) == (ACCEPTED, "oa_popup", CHANNEL)
    # a second popup later (another acceptance) adds a second send
    wx.post(_to_us(as_user(POPUP, user, create_time=1610969500)))
    assert balance(wx, user)[ACCEPTED] == (2, "accept")


def test_change_to_reject_records_the_refusal_and_voids_the_sends_left(wx: Harness) -> None:
    user = "oChg" + uid()
    wx.post(_to_us(as_user(POPUP, user)))
    wx.post(_to_us(as_user(POPUP, user, create_time=1610969500)))
    assert balance(wx, user)[ACCEPTED] == (2, "accept")
    # (the change sample is sent a second later than the popup: another message key)
    r = wx.post(_to_us(as_user(CHANGE, user, create_time=1610969600)))
    assert r.status_code == 200 and r.text == "success"
    assert balance(wx, user)[ACCEPTED] == (0, "reject")
    assert all(g.voided_at is not None for g in grants(wx, user))


def test_sent_event_records_the_delivery_of_the_send(wx: Harness) -> None:
    user = "oSent" + uid()
    wx.post(_to_us(as_user(POPUP, user)))
    with wx.runtime.sessions() as s:
        grant_id = subs.consume(s, channel=CHANNEL, openid=user, template_id=ACCEPTED,
                                notice_key="claim-progress-" + user)
        s.commit()
    assert grant_id is not None
    msgid = uid()
    r = wx.post(_to_us(as_user(SENT, user).replace("1700827132819554304", msgid)))
    assert r.status_code == 200 and r.text == "success"
    from backend.notifications.models import SubscriptionDelivery

    with wx.runtime.sessions() as s:
        row = s.scalars(select(SubscriptionDelivery).where(SubscriptionDelivery.msgid == msgid)).one()
    assert (row.grant_id, row.errcode, row.status, row.openid, row.template_id) == (
        grant_id, 0, "success", user, ACCEPTED)


def test_sent_event_with_many_templates_records_each(wx: Harness) -> None:
    user, ids = "oSent" + uid(), [uid(), uid()]
    lists = "".join(
        f"<List><TemplateId><![CDATA[{t}]]></TemplateId><MsgID>{m}</MsgID><ErrorCode>{c}</ErrorCode>"
        f"<ErrorStatus><![CDATA[{st}]]></ErrorStatus></List>"
        for t, m, c, st in ((ACCEPTED, ids[0], 0, "success"),
                            (REJECTED, ids[1], 43101, "fail:user refuse to accept the msg")))
    xml = _to_us(as_user(SENT, user))
    start, end = xml.index("<SubscribeMsgSentEvent>"), xml.index("</SubscribeMsgSentEvent>")
    xml = xml[:start] + "<SubscribeMsgSentEvent>" + lists + xml[end:]
    assert wx.post(xml).text == "success"
    from backend.notifications.models import SubscriptionDelivery

    with wx.runtime.sessions() as s:
        rows = s.scalars(select(SubscriptionDelivery).where(SubscriptionDelivery.openid == user)
                         .order_by(SubscriptionDelivery.msgid)).all()
        got = {(r.msgid, r.template_id, r.errcode) for r in rows}
    assert got == {(ids[0], ACCEPTED, 0), (ids[1], REJECTED, 43101)}


def test_three_concurrent_copies_of_a_popup_grant_once__w09(wx: Harness) -> None:
    user = "oDup" + uid()
    args = wx.request_args(_to_us(as_user(POPUP, user)))
    responses = asyncio.run(wx.concurrent([args, args, args]))
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert {r.text for r in responses} == {"success"}
    assert len(grants(wx, user)) == 1 and len(wx.inbox(msg_key(_to_us(as_user(POPUP, user))))) == 1
    # WeChat's retry after the first answer: still one grant
    wx.client.post("/wechat", **wx.request_args(_to_us(as_user(POPUP, user))))
    assert len(grants(wx, user)) == 1


def test_failed_commit_keeps_no_grant_and_the_retry_grants_once__f_p1(wx: Harness) -> None:
    user = "oFail" + uid()
    xml = _to_us(as_user(POPUP, user))
    with failing_commits(wx.runtime.engine):
        assert wx.post(xml).status_code == 503  # WeChat delivers it again
    assert grants(wx, user) == [] and wx.inbox(msg_key(xml)) == []
    assert wx.post(xml).text == "success"
    assert len(grants(wx, user)) == 1


@pytest.mark.parametrize("inner", [
    # two MsgType beside the nested payload
    POPUP.replace("<MsgType><![CDATA[event]]></MsgType>",
                  "<MsgType><![CDATA[event]]></MsgType><MsgType><![CDATA[text]]></MsgType>"),
    # a field we read, nested
    POPUP.replace("<MsgType><![CDATA[event]]></MsgType>", "<MsgType><x>event</x></MsgType>"),
    POPUP.replace(f"<FromUserName><![CDATA[{SAMPLE_USER}]]></FromUserName>",
                  f"<FromUserName><x>{SAMPLE_USER}</x></FromUserName>"),
    # a field both plain and nested
    POPUP.replace("</SubscribeMsgPopupEvent>", "</SubscribeMsgPopupEvent><SubscribeMsgPopupEvent>x"
                  "</SubscribeMsgPopupEvent>"),
])
def test_duplicated_or_nested_top_level_field_still_refused__w08(wx: Harness, inner: str) -> None:
    user = "oW08" + uid()
    r = wx.post(_to_us(as_user(inner, user)))
    assert r.status_code == 400 and r.content == b""
    assert grants(wx, user) == [] and wx.handler.calls == []


def test_doctype_in_a_nested_push_refused__w04(wx: Harness) -> None:
    user = "oW04" + uid()
    popup = _to_us(as_user(POPUP, user)).strip()
    doc = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY t "VRR0">]>' + popup
    assert wx.post(doc).status_code == 400
    undefined = popup.replace("<PopupScene>2</PopupScene>", "<PopupScene>&t;</PopupScene>", 1)
    assert wx.post(undefined).status_code == 400  # an entity never defined
    assert grants(wx, user) == []


def test_subscribe_event_with_unusable_items_is_answered_and_keeps_the_good_ones(wx: Harness) -> None:
    """A template id too long or an unknown status is skipped (and logged), not a failed push that
    WeChat would send again and again."""
    user = "oOdd" + uid()
    xml = _to_us(as_user(POPUP, user)).replace(REJECTED, "x" * 200).replace(
        "<SubscribeStatusString><![CDATA[reject]]>", "<SubscribeStatusString><![CDATA[maybe]]>")
    r = wx.post(xml)
    assert r.status_code == 200 and r.text == "success"
    assert balance(wx, user) == {ACCEPTED: (1, "accept")}
    empty = _to_us(as_user(CHANGE, user, create_time=1610969700))
    start, end = empty.index("<List>"), empty.index("</List>") + len("</List>")
    assert wx.post(empty[:start] + empty[end:]).text == "success"  # no template at all
    assert balance(wx, user) == {ACCEPTED: (1, "accept")}


def test_platform_pushes_leave_an_inbox_row_without_a_reply(wx: Harness) -> None:
    user = "oRow" + uid()
    xml = _to_us(as_user(POPUP, user))
    wx.post(xml)
    [row] = wx.inbox(msg_key(xml))
    assert (row.event, row.delivery, row.status) == ("subscribe_msg_popup_event", "none", "done")


def _inbound(xml: str) -> InboundMessage:
    doc = parse_document(xml.encode())
    return to_inbound(doc.fields, doc.nested)


def test_subscribe_events_read_into_template_records() -> None:
    popup = _inbound(POPUP)
    assert (popup.kind, popup.event, popup.user_id) == ("event", "subscribe_msg_popup_event", SAMPLE_USER)
    assert [(t.template_id, t.status) for t in popup.templates] == [
        (ACCEPTED, "accept"), (REJECTED, "reject")]
    assert [(t.template_id, t.status) for t in _inbound(CHANGE).templates] == [(ACCEPTED, "reject")]
    [sent] = _inbound(SENT).templates
    assert (sent.template_id, sent.msg_id, sent.error_code, sent.status) == (
        ACCEPTED, "1700827132819554304", 0, "success")
    # a relay that leaves out the event's element: the <List> items at the top level
    flat = POPUP.replace("<SubscribeMsgPopupEvent>", "").replace("</SubscribeMsgPopupEvent>", "")
    assert [t.template_id for t in _inbound(flat).templates] == [ACCEPTED, REJECTED]
    # other pushes carry none, even with a <List>
    assert _inbound(sample("test_mass_send_job_finish_event")).templates == ()
