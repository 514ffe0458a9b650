"""Helpers shared by the complaints and home-visits tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.complaints import home_visits as hv
from backend.complaints import service as complaints_svc
from backend.complaints.models import Complaint, HomeVisit
from backend.runtime import Runtime
from tests.backend.claims.support import NOW, PHONE, calendar

ADDRESS = "潮南区陈店镇某村1号"


def new_complaint(db: Session, runtime: Runtime, **kw: Any) -> Complaint:
    args: dict[str, Any] = {"category": "claim_speed", "severity": "normal", "channel": "phone",
                            "complainant_name": "林阿伯", "contact_phone": PHONE, "content": "理赔太慢",
                            "actor": "staff:3", "now": NOW}
    args.update(kw)
    c = complaints_svc.file_complaint(db, cipher=runtime.cipher, catalog=runtime.catalog,
                                      calendar=calendar(), **args)
    db.flush()
    return c


def new_visit(db: Session, runtime: Runtime, *, name: str = "黄婆婆", phone: str = PHONE) -> HomeVisit:
    visit = hv.request_home_visit(db, cipher=runtime.cipher, catalog=runtime.catalog, name=name,
                                  phone=phone, address=ADDRESS, purpose="交材料", channel="phone",
                                  actor="staff:3", now=NOW)
    db.flush()
    return visit
