"""WeChat's delivery reports of subscribe-message sends (``subscribe_msg_sent_event``) in the ledger."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.notifications import subscriptions as subs
from backend.notifications.models import SubscriptionDelivery, SubscriptionGrant

CH, TPL = "official_account", "TPL_progress"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


class Ledger:
    """One user's sends and reports (a user of its own: other tests commit to the same database)."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.user = "oDeliv" + uuid.uuid4().hex[:12]

    def accept(self, times: int) -> None:
        for i in range(times):
            subs.record_choices(self.db, channel=CH, openid=self.user, source="oa_popup",
                                choices=[subs.Choice(TPL, "accept")], now=T0 + dt.timedelta(minutes=i))

    def send(self, key: str, minutes: int) -> int:
        grant = subs.consume(self.db, channel=CH, openid=self.user, template_id=TPL,
                             notice_key=self.user + key, now=T0 + dt.timedelta(hours=1, minutes=minutes))
        assert grant is not None
        return grant

    def report(self, msgid: str, errcode: int = 0, status: str = "success", *, user: str | None = None,
               template_id: str = TPL) -> int | None:
        return subs.record_delivery(self.db, channel=CH, openid=user or self.user, template_id=template_id,
                                    msgid=self.user + msgid, errcode=errcode, status=status,
                                    now=T0 + dt.timedelta(hours=2))

    def reports(self) -> list[tuple[str, int | None, int]]:
        rows = self.db.scalars(select(SubscriptionDelivery).where(SubscriptionDelivery.openid == self.user)
                               .order_by(SubscriptionDelivery.msgid)).all()
        return [(r.msgid.removeprefix(self.user), r.grant_id, r.errcode) for r in rows]

    def available(self) -> int:
        return subs.balances(self.db, channel=CH, openid=self.user)[0].available


@pytest.fixture
def ledger(db: Session) -> Ledger:
    return Ledger(db)


def test_each_report_settles_the_oldest_send_without_one(ledger: Ledger) -> None:
    ledger.accept(3)
    first, second = ledger.send("n1", 0), ledger.send("n2", 1)
    assert ledger.report("m1") == first
    assert ledger.report("m2") == second
    assert ledger.report("m3") is None  # no send left to settle: the report is kept all the same
    assert ledger.reports() == [("m1", first, 0), ("m2", second, 0), ("m3", None, 0)]
    assert ledger.available() == 1  # reports never grant


def test_a_report_is_stored_once(ledger: Ledger) -> None:
    ledger.accept(2)
    grant = ledger.send("n1", 0)
    assert ledger.report("m1") == grant
    assert ledger.report("m1") == grant  # the same report again changes nothing
    assert ledger.reports() == [("m1", grant, 0)]


def test_refused_delivery_voids_the_grant_it_used(ledger: Ledger) -> None:
    ledger.accept(2)
    grant = ledger.send("n1", 0)
    ledger.report("m1", 43101, "fail:user refuse to accept the msg")
    used = ledger.db.get(SubscriptionGrant, grant)
    assert used is not None and used.voided_at is not None
    assert ledger.available() == 1  # the unused one stays


def test_reports_of_another_user_or_template_do_not_settle_this_send(ledger: Ledger) -> None:
    ledger.accept(1)
    grant = ledger.send("n1", 0)
    assert ledger.report("x1", user=ledger.user + "other") is None
    assert ledger.report("x2", template_id="TPL_other") is None
    assert ledger.report("x3") == grant
