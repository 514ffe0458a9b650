"""D-01 key rotation: every encrypted column is registered, and ``crypto rotate`` moves every value to the
active key in batches (idempotent, resumable), after which a keyring holding only the new key reads all."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import os

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.audit.models import AuditRecord
from backend.claims import service as claims
from backend.cli import build_parser
from backend.complaints import home_visits
from backend.complaints import service as complaints
from backend.conversations.models import WechatInbox
from backend.conversations.service import insert_turn
from backend.handoff.models import (
    PURPOSE_CLOSE_SUMMARY,
    PURPOSE_MESSAGE,
    PURPOSE_PAYLOAD,
    PURPOSE_SUMMARY,
    HandoffMessage,
    HandoffRequest,
)
from backend.model_registry import metadata
from backend.products.service import ProductCatalog
from backend.roster.service import import_roster
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from backend.security.rotation import ENCRYPTED_COLUMNS, EncryptedColumn, key_status, rotate_all, rotate_batch
from backend.staff.enrolment import start_enrolment
from tests.backend.claims.support import NOW, approve, calendar, report_kwargs
from tests.backend.roster.helpers import csv_bytes, make_id
from tests.backend.staff.helpers import make_staff

INDEX_KEY = "test-blind-index-key-0123456789"
K1, K2 = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))


def keyring(active: str, **keys: str) -> FieldCipher:
    return FieldCipher.from_config(keys_json=json.dumps(keys), active_key_id=active,
                                   blind_index_key=INDEX_KEY)


OLD, BOTH, NEW_ONLY = keyring("k1", k1=K1), keyring("k2", k1=K1, k2=K2), keyring("k2", k2=K2)


def test_d01_registry_lists_every_encrypted_column_once() -> None:
    in_models = {(t.name, c.name) for t in metadata.sorted_tables for c in t.columns
                 if c.name.endswith("_enc")}
    registered = [(spec.table, spec.column) for spec in ENCRYPTED_COLUMNS]
    assert len(registered) == len(set(registered))
    assert set(registered) == in_models, "add the new *_enc column to backend.security.rotation"
    purposes = [spec.purpose for spec in ENCRYPTED_COLUMNS]
    assert len(purposes) == len(set(purposes)), "one purpose per column"
    for spec in ENCRYPTED_COLUMNS:  # rotation walks the tables by an integer primary key
        assert [c.name for c in metadata.tables[spec.table].primary_key.columns] == ["id"]


def populate(db: Session, catalog: ProductCatalog, cipher: FieldCipher) -> None:
    """At least one value in every registered column, encrypted with ``cipher``."""
    claim = claims.report_claim(db, cipher=cipher, catalog=catalog, calendar=calendar(),
                                **report_kwargs(place="峡山", hospital="潮南民生医院"))
    claims.set_complex(db, cipher=cipher, calendar=calendar(), claim_id=claim.id, complex=True,
                       actor="staff:1", reason="需要调查", now=NOW)
    claims.set_bank_account(db, cipher=cipher, claim_id=claim.id, bank_account="6222021234567890",
                            holder_name="陈阿婆", beneficiary_name="陈阿伯", actor="staff:1", now=NOW)
    reviewed = claims.report_claim(db, cipher=cipher, catalog=catalog, calendar=calendar(),
                                   **report_kwargs(insured_id_number=make_id(dt.date(1950, 1, 1), seq=321)))
    for step in ("materials_pending", "under_review"):
        for m in reviewed.materials:
            m.received = True
        claims.transition_claim(db, cipher=cipher, calendar=calendar(), claim_id=reviewed.id, to_state=step,
                                actor="staff:1", reason=None, now=NOW)
    approve(db, cipher, catalog, reviewed.id, amount_fen=12_000, reason="另有护理费用，主管同意")  # > 9,000
    for name in ("林伯", "王大明", "郑美玲"):
        complaint = complaints.file_complaint(
            db, cipher=cipher, catalog=catalog, calendar=calendar(), category="other", severity="normal",
            channel="phone", complainant_name=name, contact_phone="13800138123", content="态度不好",
            actor="staff:1", now=NOW)
    for state, response in (("investigating", None), ("responded", "已道歉"), ("closed", None)):
        complaints.transition_complaint(db, cipher=cipher, complaint_id=complaint.id, to_state=state,
                                        actor="staff:1", reason="处理", response=response, now=NOW)
    complaints.record_followup(db, cipher=cipher, complaint_id=complaint.id, actor="staff:1", result="满意")
    from backend.accounts import service as accounts
    from backend.complaints.rating import rate_complaint

    rate_complaint(db, cipher=cipher, complaint_id=complaint.id, rating=4, comment="还行",
                   actor="customer:o-rot")
    account = accounts.record_login(db, cipher=cipher, channel="mini_program", openid="o-rot-mp",
                                    unionid=None, session_key="tiihtNczf5v6AKRyjwEUhQ==", now=NOW)
    accounts.set_phone(db, cipher=cipher, account=account, phone="13912345678", now=NOW)
    visit = home_visits.request_home_visit(db, cipher=cipher, catalog=catalog, name="郑美玲",
                                           phone="15812349876", address="峡山街道广场路12号",
                                           purpose="交材料", channel="phone", actor="staff:1", now=NOW)
    home_visits.mark_contacted(db, cipher=cipher, visit_id=visit.id, actor="staff:1", note="周三上午",
                               now=NOW)
    person = f"欧阳晓明,{make_id(dt.date(1948, 8, 8), seq=555)},潮南区,13912345678,两英镇和平路88号"
    import_roster(db, cipher=cipher, product=catalog.get(), file_name="roster.csv", actor="test",
                  today=dt.date(2026, 6, 15), data=csv_bytes(person))
    newcomer = make_staff(db, cipher, "rotator", "claims_officer", first_login_change=True).staff
    start_enrolment(db, cipher=cipher, staff=newcomer, issuer="test", ip=None, now=NOW)  # a pending secret
    db.add(HandoffRequest(channel="official_account", user_id="o-rot", reason="customer_asked",
                          payload_enc=cipher.encrypt('{"phone": "13912345678"}', purpose=PURPOSE_PAYLOAD),
                          summary_enc=cipher.encrypt("我要改电话", purpose=PURPOSE_SUMMARY),
                          close_summary_enc=cipher.encrypt("已改电话", purpose=PURPOSE_CLOSE_SUMMARY)))
    db.add(HandoffMessage(handoff_id=1, direction="customer",
                          text_enc=cipher.encrypt("我的新电话13912345678", purpose=PURPOSE_MESSAGE)))
    insert_turn(db, cipher=cipher, channel="official_account", user_id="o-rot", msg_key="rot-1", kind="text",
                text="我妈摔倒住院了", intent="claim_report", confidence=0.9, slots={}, flow="claim_report",
                step="insured", reply_text="受伤的是谁？")
    db.add(WechatInbox(msg_key="rot-1", openid="o-rot", msg_type="text",
                       content_enc=cipher.encrypt("我要报案", purpose="conversation.inbound"),
                       reply_enc=cipher.encrypt("[]", purpose="conversation.reply")))
    db.flush()


def values(db: Session, spec: EncryptedColumn) -> dict[int, str]:
    table = metadata.tables[spec.table]
    col = table.c[spec.column]
    return {row_id: token for row_id, token in db.execute(select(table.c.id, col).where(col.is_not(None)))}


def plaintexts(db: Session, cipher: FieldCipher) -> dict[str, dict[int, str]]:
    return {spec.label: {i: cipher.decrypt(t, purpose=spec.purpose) for i, t in values(db, spec).items()}
            for spec in ENCRYPTED_COLUMNS}


def test_d01_rotate_to_new_key_then_only_new_key_reads_everything(
    db: Session, sessions: sessionmaker[Session], catalog: ProductCatalog
) -> None:
    populate(db, catalog, OLD)
    before = plaintexts(db, OLD)
    assert all(before.values()), [label for label, v in before.items() if not v]  # every column has data
    status = key_status(db, cipher=BOTH)
    assert all(set(counts) == {"k1"} for counts in status.values()), status

    # resumable: a run stopped after one batch of one column keeps that batch
    [first] = [c for c in ENCRYPTED_COLUMNS if c.label == "complaints.complainant_name_enc"]  # 3 values
    with sessions.begin() as s:
        res = rotate_batch(s, cipher=BOTH, spec=first, after_id=0, batch=2)
    assert res.rotated == 2 and key_status(db, cipher=BOTH)[first.label]["k2"] == 2

    reports = rotate_all(sessions, cipher=BOTH, batch=2)
    db.expire_all()
    assert sum(r.rotated for r in reports) == sum(len(v) for v in before.values()) - 2
    assert all(r.failed == 0 and r.changed_meanwhile == 0 for r in reports)
    assert plaintexts(db, NEW_ONLY) == before  # only k2 in the keyring: every value still reads
    tokens = [token for spec in ENCRYPTED_COLUMNS for token in values(db, spec).values()]
    assert tokens and all(token.startswith("v1.k2.") for token in tokens)
    assert all(set(counts) <= {"k2"} for counts in key_status(db, cipher=BOTH).values())
    # idempotent: nothing left to do
    assert sum(r.rotated for r in rotate_all(sessions, cipher=BOTH, batch=500)) == 0
    audits = db.scalars(select(AuditRecord).where(AuditRecord.action == "key_rotation")).all()
    total = sum(len(v) for v in before.values()) - 2
    assert [a.result for a in audits][-2:] == [f"rotated {total}, failed 0", "rotated 0, failed 0"]


def test_d01_rotate_cli_reports_counts_and_an_undecryptable_value(
    db: Session, runtime: Runtime, catalog: ProductCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    claim = claims.report_claim(db, cipher=OLD, catalog=catalog, calendar=calendar(), **report_kwargs())
    gone = keyring("k0", k0=base64.b64encode(os.urandom(32)).decode())  # a key nobody has any more
    claim.reporter_phone_enc = gone.encrypt("13800138000", purpose="claims.reporter_phone")
    db.flush()
    rt = dataclasses.replace(runtime, cipher=BOTH)
    parser = build_parser()

    args = parser.parse_args(["crypto", "status"])
    assert args.handler(args, rt) == 0
    out = capsys.readouterr().out
    assert "claims.insured_id_enc: k1=1" in out and "claims.reporter_phone_enc: unknown=1" in out

    args = parser.parse_args(["crypto", "rotate", "--batch", "1"])
    assert args.handler(args, rt) == 1  # one value could not be re-encrypted: the operator must look
    out = capsys.readouterr().out
    assert "claims.insured_name_enc: re-encrypted 1" in out
    assert f"claims.reporter_phone_enc: re-encrypted 0, CANNOT DECRYPT 1 (ids {claim.id}" in out
    assert "13800138000" not in out
    db.expire_all()
    assert NEW_ONLY.decrypt(claim.insured_id_enc or "", purpose="claims.insured_id_number")

    with pytest.raises(SystemExit):
        parser.parse_args(["crypto", "rotate", "--batch", "0"])
