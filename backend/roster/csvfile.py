"""Reading and validating the roster CSV that government departments send.

Header ``姓名,身份证号,户籍区县,手机号,地址``; UTF-8, UTF-8 with BOM or GBK (decoded as GB18030, its
superset, so rare characters in names survive). A file we cannot decode or whose header is wrong
raises :class:`RosterFileError` before anything is written; a bad row becomes a :class:`Rejection`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from backend.errors import ServiceError
from backend.roster.idcard import IdInfo, InvalidIdNumber, validate_id_number
from backend.security.masking import mask_id_number, mask_name, mask_phone

HEADER = ("姓名", "身份证号", "户籍区县", "手机号", "地址")
MAX_NAME_LEN = 30
MAX_ADDRESS_LEN = 200
_NAME_RE = re.compile(r"^[^\W\d_]+(?:[·•.\- ][^\W\d_]+)*$")
_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_JUNK = re.compile(r"[\s\-()（）]")


class RosterFileError(ServiceError):
    """The whole file is unusable (encoding, header); nothing was imported."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that was not imported: its line number, a stable code and a Chinese reason.

    ``masked`` shows the row's ID number and name masked, so the operator can find it.
    """

    line: int
    code: str
    reason: str
    masked: str


@dataclass(frozen=True, slots=True)
class ValidRow:
    """A validated, normalised row."""

    line: int
    name: str
    id_info: IdInfo
    district: str
    phone: str | None
    address: str | None

    def canonical(self) -> str:
        """The normalised content the idempotency hash covers."""
        return "\x1f".join(
            (self.id_info.number, self.name, self.district, self.phone or "", self.address or "")
        )


def decode(data: bytes, *, file_name: str) -> tuple[str, str]:
    """The text and the encoding that decoded it: UTF-8 (BOM optional) then GBK, both strictly."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding, errors="strict")
        except UnicodeDecodeError:
            continue
        if "\x00" in text:  # UTF-16/32 bytes can slip through a single-byte-friendly decoder
            break
        return text, "utf-8" if encoding == "utf-8-sig" else "gbk"
    raise RosterFileError(
        "roster_encoding",
        f"文件 {file_name} 不是 UTF-8 或 GBK 编码，无法读取，没有导入任何数据。"
        "请另存为 UTF-8 的 CSV 后重试。",
        detail={"file": file_name},
    )


def normalize_phone(value: str) -> str | None:
    """A mainland mobile number as 11 digits, or None when ``value`` is not one."""
    digits = _PHONE_JUNK.sub("", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if _PHONE_RE.match(digits) else None


def normalize_district(value: str, *, prefixes: tuple[str, ...]) -> str:
    """``广东省汕头市潮南区`` → ``潮南区``: blanks removed and the product's province/city dropped."""
    district = "".join(value.split())
    for prefix in prefixes:
        if prefix and district.startswith(prefix):
            district = district[len(prefix):]
    return district


def _masked(cells: list[str]) -> str:
    name = cells[0].strip() if cells else ""
    id_number = "".join(cells[1].split()) if len(cells) > 1 else ""
    parts = [p for p in (mask_name(name), mask_id_number(id_number)) if p]
    return " ".join(parts)


def rows(text: str, *, file_name: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for every non-blank data row; the header is checked first."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header_seen = False
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if not header_seen:
                got = tuple(c.strip() for c in cells)
                if got != HEADER:
                    raise RosterFileError(
                        "roster_header",
                        f"文件 {file_name} 第 {line} 行的表头不对，没有导入任何数据。"
                        f"表头应为：{','.join(HEADER)}",
                        detail={"file": file_name, "expected": list(HEADER), "got": list(got)[:10]},
                    )
                header_seen = True
                continue
            yield line, cells
    except csv.Error as exc:
        raise RosterFileError(
            "roster_csv", f"文件 {file_name} 不是合法的 CSV（第 {reader.line_num} 行），没有导入任何数据。",
            detail={"file": file_name, "error": type(exc).__name__},
        ) from None
    if not header_seen:
        raise RosterFileError("roster_empty", f"文件 {file_name} 是空的，没有导入任何数据。",
                              detail={"file": file_name})


def validate_row(
    line: int, cells: list[str], *, districts: frozenset[str], district_prefixes: tuple[str, ...],
    today: dt.date,
) -> ValidRow | Rejection:
    """Validate and normalise one row."""
    if len(cells) != len(HEADER):
        return Rejection(line, "columns", f"应有 {len(HEADER)} 列，这一行有 {len(cells)} 列", _masked(cells))
    name = " ".join(cells[0].split())
    if not name:
        return Rejection(line, "name_missing", "姓名是空的", _masked(cells))
    if len(name) > MAX_NAME_LEN or not _NAME_RE.match(name):
        return Rejection(line, "name_invalid", "姓名不对（不能有数字或符号，最多30个字）", _masked(cells))
    try:
        info = validate_id_number(cells[1], today=today)
    except InvalidIdNumber as exc:
        return Rejection(line, exc.code, exc.message, _masked(cells))
    district = normalize_district(cells[2], prefixes=district_prefixes)
    if district not in districts:
        where = "、".join(sorted(districts))
        return Rejection(line, "district", f"户籍不在{where}", _masked(cells))
    phone: str | None = None
    if cells[3].strip():
        phone = normalize_phone(cells[3])
        if phone is None:
            return Rejection(line, "phone_invalid", "手机号不对（应为11位手机号）", _masked(cells))
    address = " ".join(cells[4].split()) or None
    if address is not None and len(address) > MAX_ADDRESS_LEN:
        return Rejection(line, "address_too_long", f"地址太长（最多{MAX_ADDRESS_LEN}个字）", _masked(cells))
    return ValidRow(line=line, name=name, id_info=info, district=district, phone=phone, address=address)


def mask_row_for_display(row: ValidRow) -> str:
    """The row's name, ID number and phone, masked."""
    parts = [mask_name(row.name), mask_id_number(row.id_info.number), mask_phone(row.phone)]
    return " ".join(p for p in parts if p)
