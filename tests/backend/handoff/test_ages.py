"""The "aged 80+ first" priority from the roster, when the customer proved who they are: bound to an
insured person as themselves (mini-program, shared with the official account by unionid) or a claim
reported for themselves that matched the roster. A relative acting for an 85-year-old, a revoked
binding or a 79-year-old keep the ordinary priority (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts import delegation
from backend.accounts.service import link_identity, record_login
from backend.claims import service as claims_svc
from backend.handoff import queue
from backend.handoff.ages import known_age
from backend.handoff.service import request_handoff
from backend.privacy.service import accept_privacy_notice, consent_config, record_consent
from backend.roster.models import RosterPerson
from backend.roster.service import id_number_index, import_roster
from backend.runtime import Runtime
from tests.backend.roster.helpers import csv_bytes, make_id

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)  # a Monday, 10:00 in Shantou
AGED_ID = make_id(dt.date(1941, 3, 2), seq=211)  # 85 on T0
YOUNGER_ID = make_id(dt.date(1946, 12, 8), seq=312)  # 79 on T0, 80 the next day


@pytest.fixture
def people(db: Session, runtime: Runtime) -> dict[str, int]:
    """Two insured people of the roster: 陈阿伯 (85) and 林阿姆 (79); their row ids by ID number."""
    data = csv_bytes(f"陈阿伯,{AGED_ID},潮南区,13800000001,陈店镇",
                     f"林阿姆,{YOUNGER_ID},潮南区,13800000002,峡山街道")
    import_roster(db, cipher=runtime.cipher, product=runtime.catalog.get(), data=data, file_name="r.csv",
                  actor="test", today=T0.date())
    db.flush()
    ids = {}
    for number in (AGED_ID, YOUNGER_ID):
        bidx = id_number_index(cipher=runtime.cipher, number=number)
        ids[number] = db.scalar(select(RosterPerson.id).where(RosterPerson.id_number_bidx == bidx))
    return ids


def _bind(db: Session, runtime: Runtime, *, name: str, id_number: str, relation: str,
          revoke: bool = False) -> str:
    """A mini-program account bound to an insured person; the official account's openid of the same
    WeChat user (same unionid), which is where the customer asks for a person."""
    unionid, mp_openid, oa_openid = (f"{p}{uuid.uuid4().hex[:12]}" for p in ("u-", "mp-", "oa-"))
    account = record_login(db, cipher=runtime.cipher, channel="mini_program", openid=mp_openid,
                           unionid=unionid, session_key=None, now=T0)
    link_identity(db, channel="official_account", openid=oa_openid, unionid=unionid, now=T0)
    accept_privacy_notice(db, channel="mini_program", user_id=mp_openid,
                          version=consent_config().notice.version, actor="customer", now=T0)
    record_consent(db, category="id_number", channel="mini_program", actor="customer", user_id=mp_openid,
                   now=T0)
    row = delegation.bind_insured(db, cipher=runtime.cipher, product=runtime.catalog.get(), account=account,
                                  name=name, id_number=id_number, relation=relation, now=T0)
    if revoke:
        delegation.revoke(db, account_id=account.id, delegation_id=row.id, actor="customer", now=T0)
    return oa_openid


def _priority(db: Session, runtime: Runtime, user: str, *, channel: str = "official_account") -> int:
    row = request_handoff(db, channel=channel, user_id=user, reason="asked", summary="我要找人",
                          cipher=runtime.cipher, now=T0)
    return row.priority


def test_a_customer_bound_as_themselves_aged_85_goes_before_others_asked_earlier(
        db: Session, runtime: Runtime, people: dict[str, int]) -> None:
    other = request_handoff(db, channel="official_account", user_id=f"o-{uuid.uuid4().hex[:8]}",
                            reason="asked", summary="问问", cipher=runtime.cipher,
                            now=T0 - dt.timedelta(minutes=1))
    aged_user = _bind(db, runtime, name="陈阿伯", id_number=AGED_ID, relation="self")
    aged = request_handoff(db, channel="official_account", user_id=aged_user, reason="asked",
                           summary="我要找人", cipher=runtime.cipher, now=T0)
    assert (aged.priority, other.priority) == (queue.PRIORITY_AGED, queue.PRIORITY_OTHER)
    order = [r.id for r in queue.waiting(db) if r.id in (aged.id, other.id)]
    assert order == [aged.id, other.id]


def test_a_relative_acting_for_an_85_year_old_keeps_the_ordinary_priority(
        db: Session, runtime: Runtime, people: dict[str, int]) -> None:
    user = _bind(db, runtime, name="陈阿伯", id_number=AGED_ID, relation="child")
    assert _priority(db, runtime, user) == queue.PRIORITY_OTHER


def test_a_79_year_old_and_a_revoked_binding_keep_the_ordinary_priority(
        db: Session, runtime: Runtime, people: dict[str, int]) -> None:
    younger = _bind(db, runtime, name="林阿姆", id_number=YOUNGER_ID, relation="self")
    assert _priority(db, runtime, younger) == queue.PRIORITY_OTHER
    next_day = T0 + dt.timedelta(days=1)  # her 80th birthday, in China time
    assert known_age(db, channel="official_account", user_id=younger, at=next_day) == 80
    revoked = _bind(db, runtime, name="陈阿伯", id_number=AGED_ID, relation="self", revoke=True)
    assert _priority(db, runtime, revoked) == queue.PRIORITY_OTHER


def test_a_claim_reported_for_oneself_that_matched_the_roster_gives_the_age(
        db: Session, runtime: Runtime, people: dict[str, int]) -> None:
    from tests.backend.claims.support import calendar, report_kwargs

    def report(user: str, relation: str) -> None:
        record_consent(db, category="id_number", channel="official_account", actor="customer", user_id=user,
                       now=T0)
        claims_svc.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                **report_kwargs(insured_name="陈阿伯", insured_id_number=AGED_ID,
                                                reporter_relation=relation, channel="official_account",
                                                actor=f"customer:{user}", reporter_openid=user,
                                                roster_person_id=people[AGED_ID], now=T0))

    himself, daughter = f"o-{uuid.uuid4().hex[:8]}", f"o-{uuid.uuid4().hex[:8]}"
    report(himself, "self")
    report(daughter, "child")
    assert _priority(db, runtime, himself) == queue.PRIORITY_AGED
    assert _priority(db, runtime, daughter) == queue.PRIORITY_OTHER
    assert _priority(db, runtime, f"o-{uuid.uuid4().hex[:8]}") == queue.PRIORITY_OTHER  # nobody known


def test_a_stated_age_still_wins_and_work_items_are_not_looked_up(
        db: Session, runtime: Runtime, people: dict[str, int]) -> None:
    user = _bind(db, runtime, name="林阿姆", id_number=YOUNGER_ID, relation="self")
    row = request_handoff(db, channel="official_account", user_id=user, reason="asked", summary="找人",
                          cipher=runtime.cipher, now=T0, age=81)
    assert row.priority == queue.PRIORITY_AGED
