"""Chinese resident ID numbers (GB 11643-1999): format, MOD 11-2 check digit, birth date, sex.

Other domains (claims, the bot) import :func:`validate_id_number`; it never logs or echoes the number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from operator import mul
from typing import Literal
from zoneinfo import ZoneInfo

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHANGHAI = ZoneInfo("Asia/Shanghai")
_MIN_BIRTH_YEAR = 1900

Sex = Literal["M", "F"]


class InvalidIdNumber(ValueError):
    """The ID number is not valid; ``message`` is plain Chinese, ``code`` is stable for programs."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class IdInfo:
    """What an ID number says: the normalised number (X upper-case), region, birth date and sex."""

    number: str
    region_code: str
    birth_date: dt.date
    sex: Sex


def check_digit(first17: str) -> str:
    """The GB 11643 MOD 11-2 check character for the first 17 digits."""
    return _CHECK_CHARS[sum(map(mul, _WEIGHTS, map(int, first17))) % 11]


def normalize_id_number(value: str) -> str:
    """Strip blanks (also full-width spaces) and upper-case a final ``x``."""
    return "".join(value.split()).upper()


def today_in_china() -> dt.date:
    """Today's date in Asia/Shanghai."""
    return dt.datetime.now(_SHANGHAI).date()


def validate_id_number(value: str, *, today: dt.date | None = None) -> IdInfo:
    """Validate an 18-character ID number; raise :class:`InvalidIdNumber` with a Chinese message."""
    number = normalize_id_number(value)
    if not number:
        raise InvalidIdNumber("id_missing", "没有填身份证号")
    if len(number) != 18:
        raise InvalidIdNumber("id_length", "身份证号应为18位")
    first17, last = number[:17], number[17]
    if not first17.isascii() or not first17.isdigit() or not (last.isdigit() or last == "X"):
        raise InvalidIdNumber("id_format", "身份证号格式不对")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdNumber("id_birth_date", "身份证号里的出生日期不对") from None
    if birth.year < _MIN_BIRTH_YEAR or birth > (today or today_in_china()):
        raise InvalidIdNumber("id_birth_date", "身份证号里的出生日期不对")
    if check_digit(first17) != last:
        raise InvalidIdNumber("id_checksum", "身份证号最后一位校验不对，请核对")
    sex: Sex = "M" if int(number[16]) % 2 == 1 else "F"
    return IdInfo(number=number, region_code=number[:6], birth_date=birth, sex=sex)


def anniversary(birth: dt.date, years: int) -> dt.date:
    """The date one turns ``years`` old (周岁); 29 February births turn on 1 March in common years."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return dt.date(birth.year + years, 3, 1)


def age_on(birth: dt.date, on: dt.date) -> int:
    """Full years of age (周岁) on ``on``."""
    years = on.year - birth.year
    return years if on >= anniversary(birth, years) else years - 1
