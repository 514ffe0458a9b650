"""Shapes of the staff API's own routes: login, accounts and reveal (never a hash or TOTP secret,
except the new secret in the response that creates an account)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from backend.db import MAX_INTEGER
from backend.staff.models import StaffUser

# --- requests ------------------------------------------------------------------------------------


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp_code: str = Field(min_length=1, max_length=12)


class PasswordChangeIn(BaseModel):
    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class ExpiredPasswordChangeIn(LoginIn):
    new_password: str = Field(min_length=1, max_length=256)


class StaffCreateIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: str
    password: str = Field(min_length=1, max_length=256)
    display_name: str | None = Field(default=None, max_length=100)


class RoleIn(BaseModel):
    role: str


class RevealIn(BaseModel):
    object_type: str = Field(max_length=32)
    object_id: int = Field(ge=1, le=MAX_INTEGER)
    field: str = Field(max_length=32)
    reason: str = Field(max_length=500)


# --- responses -----------------------------------------------------------------------------------


class StaffOut(BaseModel):
    """An account as shown to admins and to its owner."""

    id: int
    username: str
    display_name: str
    role: str
    disabled: bool
    locked: bool
    password_changed_at: dt.datetime
    created_at: dt.datetime
    # Set for a new account until its owner chose a password and enrolled a TOTP secret (first login).
    must_change_credentials: bool


class TotpEnrolmentOut(BaseModel):
    """The new TOTP secret of a first login and its otpauth URI (for an authenticator app), shown once."""

    totp_secret: str
    otpauth_uri: str


class LoginOut(BaseModel):
    """A new bearer token (every login makes a new one) and who it belongs to."""

    token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth token type, not a secret)
    expires_at: dt.datetime
    idle_timeout_s: int
    staff: StaffOut


class OkOut(BaseModel):
    ok: bool = True


class StaffListOut(BaseModel):
    items: list[StaffOut]


class StaffCreatedOut(BaseModel):
    """The new account; the TOTP secret and its otpauth URI are shown in this response only."""

    staff: StaffOut
    totp_secret: str
    otpauth_uri: str


class RevealOut(BaseModel):
    """One private field in clear (None when empty)."""

    object_type: str
    object_id: int
    field: str
    value: str | None


def staff_view(staff: StaffUser, *, now: dt.datetime) -> StaffOut:
    """An account as shown to admins (never the hashes or the TOTP secret)."""
    return StaffOut(
        id=staff.id, username=staff.username, display_name=staff.display_name,
        role=staff.role, disabled=staff.disabled,
        locked=bool(staff.locked_until and staff.locked_until > now),
        password_changed_at=staff.password_changed_at, created_at=staff.created_at,
        must_change_credentials=staff.must_change_credentials,
    )
