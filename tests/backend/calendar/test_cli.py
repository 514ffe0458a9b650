"""``calendar reload``: the new holiday data replaces the runtime's calendar, and the hooks the domains
registered recompute their provisional deadlines (claims and complaints) in one summary line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from backend.claims import service as claims
from backend.cli import build_parser
from backend.complaints import service as complaints
from backend.runtime import Runtime
from tests.backend.claims.support import HOLIDAYS_2027, calendar, report_kwargs


def test_reload_recomputes_every_registered_hook(db: Session, runtime: Runtime, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    at = dt.datetime(2026, 12, 29, 2, tzinfo=dt.UTC)
    claim = claims.report_claim(db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(),
                                **report_kwargs(now=at, accident_date=dt.date(2026, 12, 28)))
    for m in claim.materials:
        claims.mark_material(db, cipher=runtime.cipher, claim_id=claim.id, material_id=m.material_id,
                             received=True, actor="staff:1", now=at, calendar=calendar())
    complaint = complaints.file_complaint(
        db, cipher=runtime.cipher, catalog=runtime.catalog, calendar=calendar(), category="other",
        severity="normal", channel="phone", complainant_name="林伯", contact_phone="13800138123",
        content="态度不好", actor="staff:1", now=at)
    db.commit()
    assert claim.deadline_provisional and complaint.resolution_due_provisional
    path = tmp_path / "holidays.yaml"
    path.write_text(HOLIDAYS_2027, encoding="utf-8")
    runtime.settings = runtime.settings.model_copy(update={"holidays_file": path})

    args = build_parser().parse_args(["calendar", "reload"])
    assert args.handler(args, runtime) == 0

    assert 2027 in runtime.calendar.known_years
    out = capsys.readouterr().out
    assert "recomputed provisional deadlines: 1 个案件, 1 条投诉" in out
    db.expire_all()
    assert not claims.get_claim(db, claim_id=claim.id).deadline_provisional
    assert not complaints.get_complaint(db, complaint_id=complaint.id).resolution_due_provisional
