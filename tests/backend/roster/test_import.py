"""Importing the government roster CSV: bad input rejected with reasons, good rows kept, idempotent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.roster.csvfile import RosterFileError
from backend.roster.models import PURPOSE_ADDRESS, PURPOSE_NAME, PURPOSE_PHONE, RosterImport, RosterPerson
from backend.security.crypto import FieldCipher
from tests.backend.roster.helpers import csv_bytes, make_id

A = make_id(dt.date(1950, 3, 7), seq=101)
B = make_id(dt.date(1940, 12, 31), seq=202)
C = make_id(dt.date(1961, 1, 1), seq=303)


def people(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(RosterPerson)) or 0)


def imports(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(RosterImport)) or 0)


def test_valid_rows_are_imported_encrypted(db: Session, do_import: Any, cipher: FieldCipher) -> None:
    rep = do_import(csv_bytes(f"张三明,{A},潮南区,138 1234-5678,汕头市潮南区峡山街道1号",
                              f"李四,{B},潮南区,,"))
    assert (rep.rows_read, rep.imported_new, rep.updated, rep.unchanged, rep.rejected) == (2, 2, 0, 0, 0)
    p = db.scalars(select(RosterPerson).order_by(RosterPerson.id)).all()
    assert cipher.decrypt(p[0].name_enc, purpose=PURPOSE_NAME) == "张三明"
    assert p[0].name_masked == "张*明"
    assert cipher.decrypt(p[0].phone_enc or "", purpose=PURPOSE_PHONE) == "13812345678"
    assert cipher.decrypt(p[0].address_enc or "", purpose=PURPOSE_ADDRESS) == "汕头市潮南区峡山街道1号"
    assert p[0].birth_date == dt.date(1950, 3, 7) and p[0].sex == "M"
    assert p[0].cover_start == dt.date(2026, 1, 1)
    assert p[1].phone_enc is None and p[1].phone_bidx is None and p[1].address_enc is None
    assert p[1].sex == "F"
    assert p[0].first_import_id == p[0].last_import_id == rep.import_id
    assert abs(p[0].created_at - utcnow()) < dt.timedelta(minutes=5)  # stored and read back as UTC
    raw = db.execute(text("SELECT created_at, birth_date FROM roster_people ORDER BY id")).first()
    assert raw is not None and str(raw[1]) == "1950-03-07"


def test_wrong_columns_is_an_error_and_imports_nothing(db: Session, do_import: Any) -> None:
    data = ("姓名,身份证号,手机号,地址\n" f"张三,{A},13812345678,x\n").encode()
    with pytest.raises(RosterFileError) as err:
        do_import(data, file_name="bad.csv")
    assert err.value.code == "roster_header"
    assert "bad.csv" in err.value.message and "表头" in err.value.message
    assert people(db) == 0 and imports(db) == 0


def test_encoding_neither_utf8_nor_gbk_is_an_error(db: Session, do_import: Any) -> None:
    data = csv_bytes(f"张三,{A},潮南区,,").decode().encode("utf-16")
    with pytest.raises(RosterFileError) as err:
        do_import(data, file_name="u16.csv")
    assert err.value.code == "roster_encoding" and "u16.csv" in err.value.message
    assert people(db) == 0 and imports(db) == 0


def test_utf16_without_bom_is_an_error(db: Session, do_import: Any) -> None:
    data = csv_bytes(f"张三,{A},潮南区,,").decode().encode("utf-16-le")
    with pytest.raises(RosterFileError):
        do_import(data)
    assert people(db) == 0


def test_empty_file_is_an_error(db: Session, do_import: Any) -> None:
    with pytest.raises(RosterFileError) as err:
        do_import(b"\n\n")
    assert err.value.code == "roster_empty"


def test_bom_file_imports(db: Session, do_import: Any) -> None:
    rep = do_import(csv_bytes(f"张三,{A},潮南区,,", encoding="utf-8-sig"))
    assert rep.imported_new == 1 and rep.encoding == "utf-8"


def test_gbk_file_imports(db: Session, do_import: Any, cipher: FieldCipher) -> None:
    rep = do_import(csv_bytes(f"陈淑贞,{A},潮南区,,陈店镇", encoding="gbk"))
    assert rep.imported_new == 1 and rep.encoding == "gbk"
    person = db.scalars(select(RosterPerson)).one()
    assert cipher.decrypt(person.name_enc, purpose=PURPOSE_NAME) == "陈淑贞"


def test_blank_lines_are_skipped(db: Session, do_import: Any) -> None:
    rep = do_import(csv_bytes("", f"张三,{A},潮南区,,", "   ", ",,,,", f"李四,{B},潮南区,,", ""))
    assert rep.rows_read == 2 and rep.imported_new == 2 and rep.rejected == 0


def test_duplicate_id_rejects_the_later_row_naming_the_first(db: Session, do_import: Any) -> None:
    rep = do_import(csv_bytes(f"张三,{A},潮南区,,", f"李四,{B},潮南区,,", f"张三丰,{A.lower()},潮南区,,"))
    assert rep.imported_new == 2 and rep.rejected == 1
    r = rep.rejections[0]
    assert (r.line, r.code) == (4, "duplicate") and "第 2 行" in r.reason
    assert A not in r.masked and people(db) == 2


def test_bad_check_digit_is_rejected(db: Session, do_import: Any) -> None:
    bad = A[:17] + ("0" if A[17] != "0" else "1")
    rep = do_import(csv_bytes(f"张三,{bad},潮南区,,", f"李四,{B},潮南区,,"))
    assert rep.imported_new == 1
    assert [(r.line, r.code) for r in rep.rejections] == [(2, "id_checksum")]
    assert bad not in rep.rejections[0].masked


def test_future_birth_date_is_rejected(db: Session, do_import: Any) -> None:
    rep = do_import(csv_bytes(f"张三,{make_id(dt.date(2027, 1, 1))},潮南区,,"))
    assert [(r.line, r.code) for r in rep.rejections] == [(2, "id_birth_date")]
    assert people(db) == 0


def test_district_outside_the_scheme_is_rejected(db: Session, do_import: Any) -> None:
    rep = do_import(csv_bytes(f"张三,{A},潮阳区,,", f"李四,{B},汕头市潮南区,,"))
    assert [(r.line, r.code, r.reason) for r in rep.rejections] == [(2, "district", "户籍不在潮南区")]
    assert rep.imported_new == 1  # the full form 汕头市潮南区 is the same district
    assert db.scalars(select(RosterPerson.district)).one() == "潮南区"


@pytest.mark.parametrize("phone", ["12812345678", "1381234567", "138123456789", "电话13812345678",
                                   "0754-88888888"])
def test_invalid_phone_is_rejected(db: Session, do_import: Any, phone: str) -> None:
    rep = do_import(csv_bytes(f"张三,{A},潮南区,{phone},"))
    assert [(r.line, r.code) for r in rep.rejections] == [(2, "phone_invalid")]
    assert people(db) == 0


@pytest.mark.parametrize("phone", ["+86 138 1234 5678", "86-13812345678", "138-1234-5678"])
def test_phone_formats_are_normalised(db: Session, do_import: Any, cipher: FieldCipher, phone: str) -> None:
    rep = do_import(csv_bytes(f"张三,{A},潮南区,{phone},"))
    assert rep.imported_new == 1
    person = db.scalars(select(RosterPerson)).one()
    assert cipher.decrypt(person.phone_enc or "", purpose=PURPOSE_PHONE) == "13812345678"


@pytest.mark.parametrize("name,code", [("", "name_missing"), ("张3", "name_invalid"),
                                       ("张" * 31, "name_invalid"), ("<script>", "name_invalid")])
def test_bad_names_are_rejected(db: Session, do_import: Any, name: str, code: str) -> None:
    rep = do_import(csv_bytes(f"{name},{A},潮南区,,"))
    assert [r.code for r in rep.rejections] == [code]


def test_row_with_wrong_number_of_cells_is_rejected(db: Session, do_import: Any) -> None:
    rep = do_import(csv_bytes(f"张三,{A},潮南区", f"李四,{B},潮南区,,"))
    assert [(r.line, r.code) for r in rep.rejections] == [(2, "columns")]
    assert rep.imported_new == 1


def test_same_file_twice_changes_nothing(db: Session, do_import: Any) -> None:
    data = csv_bytes(f"张三,{A},潮南区,13812345678,地址一", f"李四,{B},潮南区,,")
    do_import(data)
    before = db.execute(select(RosterPerson.id, RosterPerson.name_enc, RosterPerson.phone_enc,
                               RosterPerson.updated_at, RosterPerson.last_import_id)).all()
    rep = do_import(data)
    assert (rep.rows_read, rep.imported_new, rep.updated, rep.unchanged, rep.rejected) == (2, 0, 0, 2, 0)
    assert rep.seen_before
    after = db.execute(select(RosterPerson.id, RosterPerson.name_enc, RosterPerson.phone_enc,
                              RosterPerson.updated_at, RosterPerson.last_import_id)).all()
    assert before == after  # not even re-encrypted
    assert imports(db) == 2  # but the run is in the history


def test_changed_row_updates_that_person(db: Session, do_import: Any, cipher: FieldCipher) -> None:
    first = do_import(csv_bytes(f"张三,{A},潮南区,13812345678,地址一", f"李四,{B},潮南区,,"))
    rep = do_import(csv_bytes(f"张三,{A},潮南区,13900001111,地址二", f"李四,{B},潮南区,,",
                              f"王五,{C},潮南区,,"), file_name="second.csv")
    assert (rep.imported_new, rep.updated, rep.unchanged) == (1, 1, 1)
    assert not rep.seen_before
    zhang = db.scalars(select(RosterPerson).order_by(RosterPerson.id)).first()
    assert zhang is not None
    assert cipher.decrypt(zhang.phone_enc or "", purpose=PURPOSE_PHONE) == "13900001111"
    assert cipher.decrypt(zhang.address_enc or "", purpose=PURPOSE_ADDRESS) == "地址二"
    assert zhang.first_import_id == first.import_id and zhang.last_import_id == rep.import_id
    assert people(db) == 3


def test_import_history_records_counts_and_reasons(db: Session, do_import: Any) -> None:
    rep = do_import(csv_bytes(f"张三,{A},潮南区,,", f"李四,{B},潮阳区,,"), file_name="jan.csv")
    rec = db.get(RosterImport, rep.import_id)
    assert rec is not None
    assert (rec.file_name, rec.actor, rec.rows_read, rec.imported_new, rec.rejected) == (
        "jan.csv", "test", 2, 1, 1)
    assert len(rec.file_sha256) == 64 and rec.finished_at is not None
    assert rec.rejections == [{"line": 3, "code": "district", "reason": "户籍不在潮南区"}]


def test_rejected_row_does_not_lose_earlier_accepted_people(db: Session, do_import: Any) -> None:
    do_import(csv_bytes(f"张三,{A},潮南区,13812345678,地址一"))
    rep = do_import(csv_bytes(f"张三,{A},潮阳区,,"))  # bad update: rejected, the person stays as is
    assert rep.rejected == 1 and rep.updated == 0
    assert db.scalars(select(RosterPerson.district)).one() == "潮南区"


def test_bulk_blind_indexes_match_the_cipher(db: Session, do_import: Any, cipher: FieldCipher) -> None:
    from backend.roster.service import id_number_index, phone_index

    do_import(csv_bytes(f"张三,{A},潮南区,13812345678,"))
    person = db.scalars(select(RosterPerson)).one()
    assert person.id_number_bidx == id_number_index(cipher=cipher, number=A)
    assert person.phone_bidx == phone_index(cipher=cipher, phone="13812345678")


def test_big_file_path_compares_with_the_whole_roster(
    db: Session, cipher: FieldCipher, product: Any
) -> None:
    from backend.roster.service import import_roster

    def run(data: bytes) -> Any:
        return import_roster(db, cipher=cipher, product=product, data=data, file_name="big.csv",
                             actor="test", today=dt.date(2026, 6, 15), batch_size=2, prefetch_over=0)

    run(csv_bytes(f"张三,{A},潮南区,13812345678,地址一", f"李四,{B},潮南区,,", f"王五,{C},潮南区,,"))
    rep = run(csv_bytes(f"张三,{A},潮南区,13900001111,地址一", f"李四,{B},潮南区,,", f"王五,{C},潮南区,,",
                        f"赵六,{make_id(dt.date(1944, 4, 4), seq=9)},潮南区,,", f"钱七,{A},潮南区,,"))
    assert (rep.imported_new, rep.updated, rep.unchanged, rep.rejected) == (1, 1, 2, 1)
    assert people(db) == 4
