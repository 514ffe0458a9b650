"""Claims: report, case numbers, state machine, locking, materials, deadlines, queries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.calendar.service import WorkingCalendar, end_of_local_day
from backend.claims import service as svc
from backend.claims.approvals import BenefitFacts
from backend.claims.models import CaseCounter, Claim, ClaimEvent, ClaimMaterial
from backend.claims.numbers import format_case_number, is_valid_case_number
from backend.claims.states import TRANSITIONS, ClaimState
from backend.errors import Conflict, NotFound, ServiceError
from backend.privacy.freetext import free_text
from backend.products.service import ProductCatalog
from backend.security.crypto import FieldCipher
from tests.backend.claims.support import (
    HOLIDAYS_2027,
    NOW,
    SECOND_APPROVAL_ABOVE_FEN,
    STAY,
    STAY_FEN,
    approve,
    calendar,
    make_id,
    product_catalog,
    report_kwargs,
)

S = ClaimState


def report(db: Session, cipher: FieldCipher, catalog: ProductCatalog, **kw: object) -> Claim:
    return svc.report_claim(db, cipher=cipher, catalog=catalog, calendar=calendar(), **report_kwargs(**kw))


def counts(db: Session) -> tuple[int, ...]:
    return tuple(
        db.scalar(select(func.count()).select_from(m)) or 0
        for m in (Claim, ClaimEvent, ClaimMaterial, CaseCounter)
    )


def complete_materials(db: Session, cipher: FieldCipher, claim: Claim, actor: str = "staff:1") -> None:
    for m in list(claim.materials):
        svc.mark_material(
            db,
            cipher=cipher,
            claim_id=claim.id,
            material_id=m.material_id,
            received=True,
            actor=actor,
            now=NOW,
            calendar=calendar(),
        )


PATH = {
    S.REPORTED: [],
    S.MATERIALS_PENDING: [S.MATERIALS_PENDING],
    S.UNDER_REVIEW: [S.MATERIALS_PENDING, S.UNDER_REVIEW],
    S.APPROVED: [S.MATERIALS_PENDING, S.UNDER_REVIEW, S.APPROVED],
    S.REJECTED: [S.MATERIALS_PENDING, S.UNDER_REVIEW, S.REJECTED],
    S.PAID: [S.MATERIALS_PENDING, S.UNDER_REVIEW, S.APPROVED, S.PAID],
    S.CLOSED: [S.MATERIALS_PENDING, S.UNDER_REVIEW, S.REJECTED, S.CLOSED],
    S.WITHDRAWN: [S.WITHDRAWN],
}


# Who moves claims in these tests; a payment is marked by another person than the approver (four-eyes).
ACTOR, PAYER = "staff:7", "staff:8"


def move(
    db: Session, cipher: FieldCipher, claim: Claim, to: ClaimState, *, amount: int | None = None,
    facts: BenefitFacts = STAY, above_fen: int = SECOND_APPROVAL_ABOVE_FEN,
) -> Claim:
    if to is S.UNDER_REVIEW:
        for m in claim.materials:
            m.received = True
    if to is S.APPROVED:  # approving goes through the product check (backend.claims.approvals)
        return approve(db, cipher, product_catalog(), claim.id, amount_fen=amount or STAY_FEN, facts=facts,
                       actor=ACTOR, reason="测试原因", above_fen=above_fen).claim
    return svc.transition_claim(
        db,
        cipher=cipher,
        calendar=calendar(),
        claim_id=claim.id,
        to_state=to,
        actor=PAYER if to is S.PAID else ACTOR,
        reason="测试原因",
        now=NOW,
    )


def claim_in(db: Session, cipher: FieldCipher, catalog: ProductCatalog, state: ClaimState) -> Claim:
    claim = report(db, cipher, catalog)
    for step in PATH[state]:
        move(db, cipher, claim, step)
    assert claim.state == state
    return claim


def test_report_claim_case_number_checklist_ack_deadline(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    claim = report(db, cipher, catalog)
    assert claim.case_no.startswith("LP260302") and is_valid_case_number(claim.case_no)
    assert claim.case_no == format_case_number("LP", "260302", 1)
    second = report(db, cipher, catalog)
    assert second.case_no == format_case_number("LP", "260302", 2)
    assert claim.state == "reported" and claim.version == 1
    product = catalog.get()
    assert [m.material_id for m in claim.materials] == [
        m.id for m in product.materials_for("hospital_allowance")
    ]
    assert claim.deadline_kind == "report_ack"
    minutes = product.service_standards.online_report_ack_minutes
    assert claim.due_at == NOW + dt.timedelta(minutes=minutes)
    events = svc.claim_history(db, claim_id=claim.id)
    assert [(e.kind, e.to_state, e.actor) for e in events] == [("reported", "reported", "staff:3")]


def test_d01_private_fields_stored_encrypted_only(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    id_number = make_id()
    claim = report(db, cipher, catalog, insured_id_number=id_number)
    svc.set_bank_account(
        db, cipher=cipher, claim_id=claim.id, bank_account="6222 0212 3456 7890 123", actor="staff:1"
    )
    row = db.execute(text("SELECT * FROM claims WHERE id = :i"), {"i": claim.id}).mappings().one()
    dump = " ".join(str(v) for v in row.values())
    for secret in (id_number, "13800138000", "6222021234567890123"):
        assert secret not in dump
    assert cipher.decrypt(claim.insured_id_enc, purpose="claims.insured_id_number") == id_number
    assert [c.id for c in svc.find_claims_by_id_number(db, cipher=cipher, id_number=id_number.lower())] == [
        claim.id
    ]
    assert svc.find_claims_by_id_number(db, cipher=cipher, id_number=make_id("44051419600101123")) == []


def test_enquiry_needs_matching_case_number_and_id(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    claim = report(db, cipher, catalog)
    got = svc.claim_for_enquiry(db, cipher=cipher, case_no=claim.case_no.lower(), id_number=make_id())
    assert got.id == claim.id
    with pytest.raises(NotFound):
        svc.claim_for_enquiry(
            db, cipher=cipher, case_no=claim.case_no, id_number=make_id("44051419600101123")
        )


def test_unknown_product_is_not_found_and_writes_nothing(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    before = counts(db)
    with pytest.raises(NotFound) as exc:
        report(db, cipher, catalog, product_id="no-such-product")
    assert exc.value.code == "unknown_product"
    assert counts(db) == before


@pytest.mark.parametrize(
    "override, code",
    [
        ({"claim_type": "dental"}, "unknown_claim_type"),
        ({"insured_id_number": make_id()[:17] + ("1" if make_id()[17] != "1" else "2")}, "invalid_id_number"),
        ({"reporter_phone": "12345"}, "invalid_phone"),
        ({"channel": "fax"}, "invalid_channel"),
        ({"description": "  "}, "invalid_input"),
        ({"accident_date": dt.date(2026, 3, 3)}, "invalid_input"),
    ],
)
def test_f_p2_bad_report_is_clear_and_leaves_no_rows(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog, override: dict[str, object], code: str
) -> None:
    report(db, cipher, catalog)  # something already accepted stays
    before = counts(db)
    with pytest.raises(ServiceError) as exc:
        report(db, cipher, catalog, **override)
    assert exc.value.code == code and exc.value.status_code == 400
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)
    assert counts(db) == before


def test_f_p2_failure_mid_insert_rolls_back_the_savepoint(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    first = report(db, cipher, catalog)
    db.execute(text("DELETE FROM case_counters"))  # the next report collides with the first's number
    before = counts(db)
    with pytest.raises(IntegrityError):
        report(db, cipher, catalog)
    assert counts(db) == before  # no claim, no checklist, no event, no counter bump
    assert svc.get_claim(db, case_no=first.case_no).id == first.id


def test_f_p2_retry_with_same_idempotency_key_gives_one_claim(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    first = report(db, cipher, catalog, idempotency_key="req-1")
    again = report(db, cipher, catalog, idempotency_key="req-1")
    assert again.id == first.id
    assert db.scalar(select(func.count()).select_from(Claim)) == 1
    with pytest.raises(Conflict) as exc:
        report(db, cipher, catalog, idempotency_key="req-1", insured_id_number=make_id("44051419600101123"))
    assert exc.value.code == "idempotency_key_reused"


@pytest.mark.parametrize("start", list(S))
def test_every_transition_valid_and_invalid(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog, start: ClaimState
) -> None:
    claim = claim_in(db, cipher, catalog, start)
    for target in S:
        if target in TRANSITIONS[start]:
            continue
        with pytest.raises(Conflict) as exc:
            move(db, cipher, claim, target)
        if start in (S.CLOSED, S.WITHDRAWN):  # D-05: a closed record is frozen, read-only
            assert exc.value.code == "record_frozen"
            continue
        assert exc.value.code == "invalid_transition"
        assert exc.value.detail == {
            "from": start.value,
            "to": target.value,
            "allowed": sorted(t.value for t in TRANSITIONS[start]),
        }
    assert claim.state == start
    for target in TRANSITIONS[start]:
        fresh = claim_in(db, cipher, catalog, start)
        move(db, cipher, fresh, target)
        assert fresh.state == target
        last = svc.claim_history(db, claim_id=fresh.id)[-1]
        assert (last.from_state, last.to_state, last.actor, free_text(last, "reason", cipher=cipher)) == (
            start,
            target,
            PAYER if target is S.PAID else ACTOR,
            "测试原因",
        )


def test_reason_and_amount_rules(db: Session, cipher: FieldCipher, catalog: ProductCatalog) -> None:
    claim = claim_in(db, cipher, catalog, S.UNDER_REVIEW)
    for to in (S.REJECTED, S.WITHDRAWN, S.MATERIALS_PENDING):
        with pytest.raises(ServiceError) as exc:
            svc.transition_claim(
                db,
                cipher=cipher,
                calendar=calendar(), claim_id=claim.id, to_state=to, actor="staff:1", reason=" "
            )
        assert exc.value.code == "reason_required"
    with pytest.raises(ServiceError) as exc:
        svc.transition_claim(
            db,
            cipher=cipher,
            calendar=calendar(), claim_id=claim.id, to_state="approved", actor="staff:1", reason=None
        )
    assert exc.value.code == "amount_required"
    with pytest.raises(ServiceError) as exc:
        svc.transition_claim(
            db,
            cipher=cipher,
            calendar=calendar(), claim_id=claim.id, to_state="flying", actor="staff:1", reason=None
        )
    assert exc.value.code == "unknown_state"
    assert claim.state == "under_review"


def test_under_review_needs_complete_materials(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    claim = claim_in(db, cipher, catalog, S.MATERIALS_PENDING)
    with pytest.raises(Conflict) as exc:
        svc.transition_claim(
            db,
            cipher=cipher,
            calendar=calendar(), claim_id=claim.id, to_state="under_review", actor="staff:1", reason=None
        )
    assert exc.value.code == "materials_incomplete" and "bank_account" in exc.value.detail["missing"]


def test_optimistic_lock_expected_version(db: Session, cipher: FieldCipher, catalog: ProductCatalog) -> None:
    claim = claim_in(db, cipher, catalog, S.REPORTED)
    stale = claim.version
    move(db, cipher, claim, S.MATERIALS_PENDING)
    assert claim.version == stale + 1
    with pytest.raises(Conflict) as exc:
        svc.transition_claim(
            db,
            cipher=cipher,
            calendar=calendar(),
            claim_id=claim.id,
            to_state="withdrawn",
            actor="staff:2",
            reason="客户要求",
            expected_version=stale,
        )
    assert exc.value.code == "version_conflict"
    assert claim.state == "materials_pending"


def test_materials_complete_starts_review_and_missing_goes_back(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog
) -> None:
    claim = report(db, cipher, catalog)
    with pytest.raises(NotFound):
        svc.mark_material(db, cipher=cipher,
                          claim_id=claim.id, material_id="passport", received=True, actor="staff:1")
    complete_materials(db, cipher, claim)
    assert claim.state == "under_review" and claim.acknowledged_at == NOW
    assert claim.deadline_kind == "materials_review"
    n = catalog.get().service_standards.materials_review_working_days
    assert claim.deadline_date == calendar().add_working_days(dt.date(2026, 3, 2), n).date
    item = claim.materials[0]
    assert (item.received, item.marked_by, item.marked_at) == (True, "staff:1", NOW)
    svc.mark_material(
        db,
        cipher=cipher,
        claim_id=claim.id,
        material_id="medical_record",
        received=False,
        actor="staff:2",
        calendar=calendar(),
    )
    assert claim.state == "materials_pending" and claim.deadline_kind is None
    kinds = [(e.kind, e.to_state) for e in svc.claim_history(db, claim_id=claim.id)]
    assert ("transition", "under_review") in kinds and kinds[-1] == ("transition", "materials_pending")


@pytest.mark.parametrize(
    "amount_fen, key",
    [
        (499_999, "payment_below_threshold_working_days"),
        (500_000, "payment_at_or_above_threshold_working_days"),
    ],
)
def test_payment_deadline_by_threshold(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog, amount_fen: int, key: str
) -> None:
    # A transport death on a ship pays 50,000 yuan: both amounts are below what it computes. One
    # approver here (the four-eyes limit is test_approvals.py's subject).
    claim = report(db, cipher, catalog, claim_type="transport_death")
    for step in PATH[S.UNDER_REVIEW]:
        move(db, cipher, claim, step)
    move(db, cipher, claim, S.APPROVED, amount=amount_fen, facts=BenefitFacts(transport="ship"),
         above_fen=10**12)
    n = getattr(catalog.get().service_standards, key)
    expected = calendar().add_working_days(dt.date(2026, 3, 2), n)
    assert (claim.deadline_kind, claim.deadline_date, claim.deadline_provisional) == (
        "payment",
        expected.date,
        False,
    )
    assert claim.due_at == end_of_local_day(expected.date)
    move(db, cipher, claim, S.PAID)
    assert claim.paid_amount_fen == amount_fen and claim.due_at is None


def test_complex_case_overall_limit(db: Session, cipher: FieldCipher, catalog: ProductCatalog) -> None:
    claim = claim_in(db, cipher, catalog, S.UNDER_REVIEW)
    with pytest.raises(ServiceError):
        svc.set_complex(db, cipher=cipher,
                        calendar=calendar(), claim_id=claim.id, complex=True, actor="staff:1", reason="")
    svc.set_complex(
        db,
        cipher=cipher,
        calendar=calendar(), claim_id=claim.id, complex=True, actor="staff:1", reason="需要调查"
    )
    n = catalog.get().service_standards.complex_case_max_working_days
    assert claim.deadline_kind == "complex_case"
    assert claim.deadline_date == calendar().add_working_days(dt.date(2026, 3, 2), n).date
    svc.set_complex(
        db,
        cipher=cipher, calendar=calendar(), claim_id=claim.id, complex=False, actor="staff:1", reason="已查清"
    )
    assert claim.deadline_kind == "materials_review" and not claim.is_complex
    assert [e.kind for e in svc.claim_history(db, claim_id=claim.id)][-2:] == ["complex_set", "complex_unset"]
    closed = claim_in(db, cipher, catalog, S.CLOSED)
    with pytest.raises(Conflict):
        svc.set_complex(
            db,
            cipher=cipher, calendar=calendar(), claim_id=closed.id, complex=True, actor="staff:1", reason="x"
        )


def test_overdue_and_due_soon_queries(db: Session, cipher: FieldCipher, catalog: ProductCatalog) -> None:
    cal = calendar()
    fresh = report(db, cipher, catalog)  # ack due NOW + 5 min
    review = claim_in(db, cipher, catalog, S.UNDER_REVIEW)  # due 2026-03-05 end of day
    closed = claim_in(db, cipher, catalog, S.CLOSED)
    later = NOW + dt.timedelta(minutes=30)
    overdue = svc.list_claims(db, calendar=cal, overdue=True, now=later)
    assert [c.id for c in overdue] == [fresh.id]
    not_overdue = {c.id for c in svc.list_claims(db, calendar=cal, overdue=False, now=later)}
    assert {review.id, closed.id} <= not_overdue and fresh.id not in not_overdue
    assert [c.id for c in svc.list_claims(db, calendar=cal, due_within_working_days=1, now=later)] == []
    soon = svc.list_claims(db, calendar=cal, due_within_working_days=3, now=later)
    assert [c.id for c in soon] == [review.id]
    assert [c.id for c in svc.list_claims(db, calendar=cal, state="closed", now=later)] == [closed.id]
    with pytest.raises(ServiceError):
        svc.list_claims(db, calendar=cal, state="lost")


def test_provisional_deadline_recomputed_when_2027_loads(
    db: Session, cipher: FieldCipher, catalog: ProductCatalog, tmp_path: Path
) -> None:
    at = dt.datetime(2026, 12, 29, 2, tzinfo=dt.UTC)
    claim = svc.report_claim(
        db,
        cipher=cipher,
        catalog=catalog,
        calendar=calendar(),
        **report_kwargs(now=at, accident_date=dt.date(2026, 12, 28)),
    )
    for m in claim.materials:
        svc.mark_material(
            db,
            cipher=cipher,
            claim_id=claim.id,
            material_id=m.material_id,
            received=True,
            actor="staff:1",
            now=at,
            calendar=calendar(),
        )
    assert claim.deadline_date == dt.date(2027, 1, 1) and claim.deadline_provisional  # weekends only
    assert svc.recompute_provisional_deadlines(db, calendar=calendar()) == 0
    path = tmp_path / "holidays.yaml"
    path.write_text(HOLIDAYS_2027, encoding="utf-8")
    assert svc.recompute_provisional_deadlines(db, calendar=WorkingCalendar.load(path)) == 1
    db.refresh(claim)
    assert claim.deadline_date == dt.date(2027, 1, 4) and not claim.deadline_provisional
    assert claim.due_at == end_of_local_day(dt.date(2027, 1, 4))


def test_get_claim_not_found(db: Session) -> None:
    with pytest.raises(NotFound):
        svc.get_claim(db, claim_id=987654)
    with pytest.raises(NotFound):
        svc.get_claim(db, case_no="LP26030200011")
    with pytest.raises(NotFound):
        svc.claim_history(db, claim_id=987654)
