"""Input checks shared by claims, complaints and home visits; errors carry short Chinese messages.

Error details name the field, never echo the (possibly private) value.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from backend.errors import ServiceError
from backend.roster.idcard import InvalidIdNumber, validate_id_number


class Channel(StrEnum):
    """Where a request came in."""

    OFFICIAL_ACCOUNT = "official_account"
    MINI_PROGRAM = "mini_program"
    PHONE = "phone"
    OFFICE = "office"
    OTHER = "other"


CHANNEL_LABELS: dict[Channel, str] = {
    Channel.OFFICIAL_ACCOUNT: "公众号",
    Channel.MINI_PROGRAM: "小程序",
    Channel.PHONE: "电话",
    Channel.OFFICE: "服务网点",
    Channel.OTHER: "其他",
}

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def invalid(field: str, message: str, code: str = "invalid_input") -> ServiceError:
    """A 400 error about one field."""
    return ServiceError(code, message, detail={"field": field})


def text(value: str | None, *, field: str, label: str, max_len: int, required: bool = True) -> str | None:
    """Trimmed text; required and length checked."""
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            raise invalid(field, f"请填写{label}")
        return None
    if len(cleaned) > max_len:
        raise invalid(field, f"{label}太长了，请控制在{max_len}个字以内")
    return cleaned


def required_text(value: str | None, *, field: str, label: str, max_len: int) -> str:
    """Trimmed, non-empty text."""
    cleaned = text(value, field=field, label=label, max_len=max_len)
    assert cleaned is not None
    return cleaned


def phone_number(value: str, *, field: str = "phone") -> str:
    """A mainland mobile (11 digits) or landline (area code + number); blanks and dashes removed."""
    digits = re.sub(r"[\s\-()（）]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    if not (_MOBILE.match(digits) or _LANDLINE.match(digits)):
        raise invalid(field, "电话号码不对，请检查后再填", "invalid_phone")
    return digits


def id_number(value: str, *, field: str = "id_number") -> str:
    """A valid resident ID number, normalised (X upper-case)."""
    try:
        return validate_id_number(value).number
    except InvalidIdNumber as exc:
        raise ServiceError(
            "invalid_id_number", exc.message, detail={"field": field, "reason": exc.code}
        ) from None


def channel(value: str) -> str:
    """One of :class:`Channel`."""
    try:
        return Channel(value).value
    except ValueError:
        raise ServiceError(
            "invalid_channel",
            "来源渠道不对",
            detail={"field": "channel", "allowed": [c.value for c in Channel]},
        ) from None


def actor(value: str) -> str:
    """Who acts, e.g. ``staff:12``, ``customer:<openid>``, ``system``."""
    return required_text(value, field="actor", label="操作人", max_len=100)


def not_future(day: dt.date, *, today: dt.date, field: str, label: str) -> dt.date:
    """A date that is not after today (Asia/Shanghai)."""
    if day > today:
        raise invalid(field, f"{label}不能晚于今天")
    return day
