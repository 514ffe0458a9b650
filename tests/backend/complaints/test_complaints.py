"""Complaints (受理 → 调查 → 反馈 → 结案 → 回访) and home-visit requests, with their due times."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from backend.calendar.service import end_of_local_day
from backend.complaints import home_visits as hv
from backend.complaints import service as cs
from backend.errors import Conflict, NotFound, ServiceError
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from tests.backend.claims.support import NOW, calendar


def file(db: Session, cipher: FieldCipher, catalog: ProductCatalog, **kw: object) -> cs.Complaint:
    args: dict[str, object] = {
        "category": "claim_speed",
        "severity": "normal",
        "channel": "phone",
        "complainant_name": "林伯",
        "contact_phone": "138-0013-8000",
        "content": "理赔太慢",
        "actor": "staff:3",
        "now": NOW,
    }
    args.update(kw)
    return cs.file_complaint(db, cipher=cipher, catalog=catalog, calendar=calendar(), **args)  # type: ignore[arg-type]


def test_complaint_flow_with_followup_and_due_times(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    std = catalog.get().service_standards
    c = file(db, cipher, catalog)
    assert c.complaint_no.startswith("TS260302") and c.state == "received"
    assert c.due_kind == "ack" and c.due_at == NOW + dt.timedelta(hours=std.complaint_ack_hours)
    expected = calendar().add_working_days(dt.date(2026, 3, 2), std.complaint_resolution_working_days)
    assert (c.resolution_due_date, c.resolution_due_provisional) == (expected.date, False)
    late = NOW + dt.timedelta(hours=std.complaint_ack_hours + 1)
    assert [x.id for x in cs.list_complaints(db, overdue=True, now=late)] == [c.id]
    assert [x.id for x in cs.list_complaints(db, due_within_hours=std.complaint_ack_hours, now=NOW)] == [c.id]
    cs.acknowledge_complaint(db, cipher=cipher, complaint_id=c.id, actor="staff:3", now=NOW)
    assert c.due_kind == "resolution" and c.due_at == end_of_local_day(expected.date)
    assert cs.list_complaints(db, overdue=True, now=late) == []
    with pytest.raises(Conflict) as exc:
        cs.transition_complaint(db, cipher=cipher, complaint_id=c.id, to_state="closed", actor="staff:3")
    assert exc.value.code == "invalid_transition"
    with pytest.raises(Conflict):
        cs.record_followup(db, cipher=cipher, complaint_id=c.id, actor="staff:3", result="满意")
    cs.transition_complaint(db, cipher=cipher,
                            complaint_id=c.id, to_state="investigating", actor="staff:3", now=NOW)
    with pytest.raises(ServiceError) as exc2:
        cs.transition_complaint(db, cipher=cipher, complaint_id=c.id, to_state="responded", actor="staff:3")
    assert exc2.value.code == "invalid_input"  # the answer is required
    cs.transition_complaint(
        db,
        cipher=cipher, complaint_id=c.id, to_state="responded", actor="staff:3", response="已加快处理"
    )
    assert c.due_at is None
    cs.transition_complaint(db, cipher=cipher, complaint_id=c.id, to_state="closed", actor="staff:3")
    cs.record_followup(db, cipher=cipher,
                       complaint_id=c.id, actor="staff:4", result="客户满意", satisfied=True)
    assert (c.followup_by, c.followup_satisfied) == ("staff:4", True)
    with pytest.raises(Conflict):
        cs.record_followup(db, cipher=cipher, complaint_id=c.id, actor="staff:4", result="again")
    kinds = [(e.kind, e.to_state) for e in cs.complaint_history(db, complaint_id=c.id)]
    assert kinds == [
        ("filed", "received"),
        ("acknowledged", None),
        ("transition", "investigating"),
        ("transition", "responded"),
        ("transition", "closed"),
        ("followup", None),
    ]


def test_complaint_bad_input_and_stale_version(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    for kw, code in (
        ({"category": "rude"}, "invalid_category"),
        ({"severity": "x"}, "invalid_severity"),
        ({"contact_phone": "1"}, "invalid_phone"),
    ):
        with pytest.raises(ServiceError) as exc:
            file(db, cipher, catalog, **kw)
        assert exc.value.code == code
    with pytest.raises(NotFound):
        file(db, cipher, catalog, related_case_no="LP26030200011")
    with pytest.raises(NotFound):
        file(db, cipher, catalog, product_id="nope")
    c = file(db, cipher, catalog)
    assert "13800138000" not in c.contact_phone_enc
    with pytest.raises(Conflict) as exc:
        cs.transition_complaint(
            db,
            cipher=cipher, complaint_id=c.id, to_state="investigating", actor="s", expected_version=9
        )
    assert exc.value.code == "version_conflict"


def test_home_visit_due_times_and_flow(db: Session, cipher: FieldCipher, catalog: ProductCatalog) -> None:
    std = catalog.get().service_standards
    v = hv.request_home_visit(
        db,
        cipher=cipher,
        catalog=catalog,
        name="黄婆婆",
        phone="13800138000",
        address="潮南区陈店镇某村1号",
        purpose="交材料",
        channel="phone",
        actor="staff:1",
        now=NOW,
    )
    assert v.visit_no.startswith("SM260302") and v.state == "requested"
    assert v.contact_due_at == NOW + dt.timedelta(hours=std.home_visit_contact_hours)
    assert v.visit_due_at == NOW + dt.timedelta(hours=std.home_visit_visit_hours)
    assert "陈店" not in v.address_enc
    after_contact_due = v.contact_due_at + dt.timedelta(minutes=1)
    assert [x.id for x in hv.list_home_visits(db, overdue=True, now=after_contact_due)] == [v.id]
    assert hv.list_home_visits(db, overdue=True, now=NOW) == []
    assert [
        x.id for x in hv.list_home_visits(db, due_within_hours=std.home_visit_contact_hours, now=NOW)
    ] == [v.id]
    with pytest.raises(Conflict):
        hv.mark_visited(db, cipher=cipher, visit_id=v.id, actor="staff:1")
    hv.mark_contacted(db, cipher=cipher, visit_id=v.id, actor="staff:1", now=NOW)
    assert hv.list_home_visits(db, overdue=True, now=after_contact_due) == []
    after_visit_due = v.visit_due_at + dt.timedelta(minutes=1)
    assert [x.id for x in hv.list_home_visits(db, overdue=True, now=after_visit_due)] == [v.id]
    hv.mark_visited(db, cipher=cipher, visit_id=v.id, actor="staff:2", now=NOW)
    assert v.state == "visited" and hv.list_home_visits(db, overdue=True, now=after_visit_due) == []
    with pytest.raises(Conflict):
        hv.cancel_home_visit(db, cipher=cipher, visit_id=v.id, actor="staff:1", reason="不需要了")


def test_a_customer_cancels_only_their_own_visit_while_it_is_requested(
        db: Session, cipher: FieldCipher, catalog: ProductCatalog) -> None:
    def book(openid: str) -> str:
        v = hv.request_home_visit(db, cipher=cipher, catalog=catalog, name="黄婆婆", phone="13800138000",
                                  address="潮南区陈店镇某村1号", purpose="交材料", channel="official_account",
                                  actor=f"customer:{openid}", openid=openid, now=NOW)
        db.flush()
        return v.visit_no

    mine, theirs = book("o-mine"), book("o-theirs")
    kw = {"cipher": cipher, "reason": "客户在聊天里取消", "now": NOW}
    assert hv.cancel_visit_by_customer(db, visit_no=theirs, openid="o-mine", **kw) is False  # not theirs
    assert hv.cancel_visit_by_customer(db, visit_no=mine, openid="o-mine", **kw) is True
    assert hv.get_home_visit(db, visit_no=mine).state == "cancelled"
    assert hv.get_home_visit(db, visit_no=theirs).state == "requested"
    assert hv.cancel_visit_by_customer(db, visit_no=mine, openid="o-mine", **kw) is False  # already
