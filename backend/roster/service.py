"""The insured roster: import the government's CSV idempotently and answer "is this person covered?".

Cover start (scheme facts: newly eligible people are covered from the 1st of the month after they
become eligible): ``max(scheme_start, first day of the month after the min_age birthday)``. People who
were already eligible before the scheme began are covered from ``scheme_start``. The scheme start is
the product's ``scheme_start`` if its file has one, else 1 January of the product's ``version`` year.
A person turning 60 on the 1st of a month is covered from the 1st of the *next* month.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, islice
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from backend.calendar.service import chinese_date
from backend.db import utcnow
from backend.products.schemas import Product
from backend.roster import messages
from backend.roster.csvfile import Rejection, ValidRow, decode, mask_row_for_display, rows, validate_row
from backend.roster.idcard import InvalidIdNumber, anniversary, today_in_china, validate_id_number
from backend.roster.models import (
    PURPOSE_ADDRESS,
    PURPOSE_ID_NUMBER,
    PURPOSE_NAME,
    PURPOSE_PHONE,
    PURPOSE_ROW_HASH,
    RosterImport,
    RosterPerson,
)
from backend.security.crypto import CryptoError, FieldCipher
from backend.security.masking import mask_name

BATCH_SIZE = 2000
PREFETCH_ROWS = 5000


@dataclass
class ImportReport:
    """The outcome of one import run."""

    import_id: int
    file_name: str
    file_sha256: str
    encoding: str
    seen_before: bool
    rows_read: int = 0
    imported_new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """How many rows were not imported."""
        return len(self.rejections)


@dataclass(frozen=True, slots=True)
class EligibilityResult:
    """Whether an ID number is covered on a day; ``reason`` is plain Chinese for the customer."""

    found: bool
    eligible: bool
    code: str  # eligible | not_started | under_age | outside_district | not_found | id_* (invalid)
    reason: str
    cover_start: dt.date | None = None
    person_id: int | None = None
    masked_name: str | None = None


def default_scheme_start(product: Product) -> dt.date:
    """The product's ``scheme_start`` (if its file sets one), else 1 January of its version year."""
    return product.scheme_start or dt.date(product.version, 1, 1)


def first_of_next_month(day: dt.date) -> dt.date:
    """The 1st of the month after ``day``'s month."""
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def cover_start_for(*, birth_date: dt.date, product: Product, scheme_start: dt.date) -> dt.date:
    """The first covered day of someone born on ``birth_date`` (see the module docstring)."""
    eligible_from = anniversary(birth_date, product.eligibility.min_age)
    if product.eligibility.cover_starts == "first_day_of_next_month":
        eligible_from = first_of_next_month(eligible_from)
    return max(eligible_from, scheme_start)


def id_number_index(*, cipher: FieldCipher, number: str) -> str:
    """The blind index of a normalised ID number (X upper-case); other domains may store it too."""
    return cipher.blind_index(number, purpose=PURPOSE_ID_NUMBER)


def phone_index(*, cipher: FieldCipher, phone: str) -> str:
    """The blind index of an 11-digit mobile number."""
    return cipher.blind_index(phone, purpose=PURPOSE_PHONE)


def _copy_rows(session: Session, table: Table, values: list[dict[str, Any]]) -> None:
    """Insert many rows: COPY on PostgreSQL (psycopg 3), executemany elsewhere."""
    conn = session.connection()
    cols = list(values[0])
    if conn.dialect.name != "postgresql":
        # executemany with the columns' own bind processors applied once per value: same result as
        # session.execute(insert(table), values) without the per-row overhead of the generic path.
        compiled = insert(table).compile(dialect=conn.dialect, column_keys=cols)
        order = list(compiled.positiontup or ())
        if not order:
            session.execute(insert(table), values)
            return
        procs = [table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in order]

        def bound(row: dict[str, Any]) -> tuple[Any, ...]:
            return tuple(v if p is None or v is None else p(v)
                         for p, v in zip(procs, map(row.__getitem__, order), strict=True))

        params = [bound(row) for row in values]
        conn.exec_driver_sql(str(compiled), params)
        return
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in cols)
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
        for row in values:
            copy.write_row([row[c] for c in cols])


def _existing(session: Session, table: Table, product_id: str,
              bidxs: list[str] | None) -> dict[str, tuple[int, str]]:
    """``{id_number_bidx: (id, row_hash)}`` of the product's people (only ``bidxs`` if given)."""
    stmt = select(table.c.id, table.c.id_number_bidx, table.c.row_hash).where(
        table.c.product_id == product_id)
    if bidxs is not None:
        stmt = stmt.where(table.c.id_number_bidx.in_(bidxs))
    return {r.id_number_bidx: (r.id, r.row_hash) for r in session.execute(stmt)}


def _batches(it: Iterator[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    while batch := list(islice(it, size)):
        yield batch


def _encrypted(cipher: FieldCipher, row: ValidRow, phone_idx: Callable[[str], str]) -> dict[str, Any]:
    return {
        "id_number_enc": cipher.encrypt(row.id_info.number, purpose=PURPOSE_ID_NUMBER),
        "name_enc": cipher.encrypt(row.name, purpose=PURPOSE_NAME),
        "name_masked": mask_name(row.name) or "*",
        "phone_enc": cipher.encrypt(row.phone, purpose=PURPOSE_PHONE) if row.phone else None,
        "phone_bidx": phone_idx(row.phone) if row.phone else None,
        "address_enc": cipher.encrypt(row.address, purpose=PURPOSE_ADDRESS) if row.address else None,
        "district": row.district,
    }


def import_roster(
    session: Session,
    *,
    cipher: FieldCipher,
    product: Product,
    data: bytes,
    file_name: str,
    actor: str,
    today: dt.date | None = None,
    scheme_start: dt.date | None = None,
    batch_size: int = BATCH_SIZE,
    prefetch_over: int = PREFETCH_ROWS,
) -> ImportReport:
    """Import a roster CSV: new people inserted, changed rows updated, identical rows left alone."""
    today = today or today_in_china()
    start = scheme_start or default_scheme_start(product)
    text, encoding = decode(data, file_name=file_name)
    it = rows(text, file_name=file_name)
    first = next(it, None)  # checks the header before anything is written
    sha = hashlib.sha256(data).hexdigest()
    seen_before = session.scalar(
        select(RosterImport.id).where(RosterImport.product_id == product.id,
                                      RosterImport.file_sha256 == sha).limit(1)
    ) is not None
    record = RosterImport(product_id=product.id, file_name=file_name[-255:], file_sha256=sha,
                          encoding=encoding, actor=actor[:128], started_at=utcnow(), rejections=[])
    session.add(record)
    session.flush()
    report = ImportReport(import_id=record.id, file_name=file_name, file_sha256=sha, encoding=encoding,
                          seen_before=seen_before)
    districts = frozenset(product.eligibility.household_registration_districts)
    prefixes = (product.region.province, product.region.city)
    first_line: dict[str, int] = {}
    id_idx = cipher.indexer(PURPOSE_ID_NUMBER)
    hash_idx = cipher.indexer(PURPOSE_ROW_HASH)
    phone_idx = cipher.indexer(PURPOSE_PHONE)
    cover_for = lru_cache(maxsize=None)(
        lambda birth: cover_start_for(birth_date=birth, product=product, scheme_start=start))
    table = cast(Table, RosterPerson.__table__)
    upd = (
        update(table)
        .where(table.c.id == bindparam("pk"))
        .values({c: bindparam(c) for c in ("id_number_enc", "name_enc", "name_masked", "phone_enc",
                                            "phone_bidx", "address_enc", "district", "row_hash",
                                            "last_import_id", "updated_at")})
    )
    source = chain([first], it) if first is not None else iter(())
    # A big file is compared with the whole roster read once; a small one looks its rows up per batch.
    # (Per-batch IN lists against a big, freshly loaded table can make PostgreSQL scan it every time.)
    known = _existing(session, table, product.id, None) if text.count("\n") > prefetch_over else None
    for batch in _batches(source, batch_size):
        valid: dict[str, tuple[ValidRow, str]] = {}
        for line, cells in batch:
            report.rows_read += 1
            checked = validate_row(line, cells, districts=districts, district_prefixes=prefixes,
                                   today=today)
            if isinstance(checked, Rejection):
                report.rejections.append(checked)
                continue
            number = checked.id_info.number
            if number in first_line:
                report.rejections.append(Rejection(
                    line, "duplicate", f"身份证号与第 {first_line[number]} 行重复，这一行没有导入",
                    mask_row_for_display(checked)))
                continue
            first_line[number] = line
            valid[id_idx(number)] = (checked, hash_idx(checked.canonical()))
        if not valid:
            continue
        existing = known if known is not None else _existing(session, table, product.id, list(valid))
        now = utcnow()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for bidx, (row, row_hash) in valid.items():
            found = existing.get(bidx)
            if found is not None and found[1] == row_hash:
                report.unchanged += 1
                continue
            values = _encrypted(cipher, row, phone_idx)
            values.update(row_hash=row_hash, last_import_id=record.id, updated_at=now)
            if found is None:
                values.update(
                    product_id=product.id, id_number_bidx=bidx, birth_date=row.id_info.birth_date,
                    sex=row.id_info.sex, first_import_id=record.id, created_at=now,
                    cover_start=cover_for(row.id_info.birth_date),
                )
                inserts.append(values)
            else:
                values["pk"] = found[0]
                updates.append(values)
        if inserts:
            _copy_rows(session, table, inserts)
            report.imported_new += len(inserts)
        if updates:
            session.execute(upd, updates)
            report.updated += len(updates)
    record.rows_read = report.rows_read
    record.imported_new = report.imported_new
    record.updated = report.updated
    record.unchanged = report.unchanged
    record.rejected = report.rejected
    record.rejections = [{"line": r.line, "code": r.code, "reason": r.reason} for r in report.rejections]
    record.finished_at = utcnow()
    session.flush()
    return report


def eligibility(
    session: Session, *, cipher: FieldCipher, id_number: str, on: dt.date, product: Product
) -> EligibilityResult:
    """Whether the person with this ID number is covered by ``product`` on ``on`` (no decryption)."""
    try:
        info = validate_id_number(id_number, today=max(on, today_in_china()))
    except InvalidIdNumber as exc:
        return EligibilityResult(found=False, eligible=False, code=exc.code, reason=exc.message)
    bidx = id_number_index(cipher=cipher, number=info.number)
    table = cast(Table, RosterPerson.__table__)
    row = session.execute(
        select(table.c.id, table.c.name_masked, table.c.birth_date, table.c.district,
               table.c.cover_start)
        .where(table.c.product_id == product.id, table.c.id_number_bidx == bidx)
    ).first()
    if row is None:
        return EligibilityResult(found=False, eligible=False, code="not_found", reason=messages.NOT_FOUND)
    common: dict[str, Any] = {"found": True, "cover_start": row.cover_start, "person_id": row.id,
                              "masked_name": row.name_masked}
    districts = product.eligibility.household_registration_districts
    if row.district not in districts:
        return EligibilityResult(eligible=False, code="outside_district", reason=messages.OUTSIDE_DISTRICT
                                 .format(districts="、".join(districts)), **common)
    start = chinese_date(row.cover_start)
    if on >= row.cover_start:
        return EligibilityResult(eligible=True, code="eligible", reason=messages.ELIGIBLE.format(start=start),
                                 **common)
    if on < anniversary(row.birth_date, product.eligibility.min_age):
        return EligibilityResult(eligible=False, code="under_age", **common, reason=messages.UNDER_AGE
                                 .format(min_age=product.eligibility.min_age, start=start))
    return EligibilityResult(eligible=False, code="not_started",
                             reason=messages.NOT_STARTED.format(start=start), **common)


def verify_identity(
    session: Session, *, cipher: FieldCipher, id_number: str, name: str, on: dt.date, product: Product
) -> EligibilityResult | None:
    """The eligibility of the roster person with this ID number and exactly this name; None when
    nobody matches (the same answer for an unknown number and a wrong name: no name oracle)."""
    result = eligibility(session, cipher=cipher, id_number=id_number, on=on, product=product)
    if not result.found or result.person_id is None:
        return None
    person = session.get(RosterPerson, result.person_id)
    try:
        real = cipher.decrypt(person.name_enc, purpose=PURPOSE_NAME) if person else ""
    except CryptoError:
        real = ""
    return result if real and real == name else None
