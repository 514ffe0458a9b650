"""Staff accounts and their login sessions (catalogue A-01, A-02)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime
from backend.security.columns import encrypted

TOTP_PURPOSE = "staff.totp_secret"
TOTP_PENDING_PURPOSE = "staff.totp_pending"


class Role(enum.StrEnum):
    """Staff roles; separated (an admin is not an auditor)."""

    AGENT = "agent"
    CLAIMS_OFFICER = "claims_officer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"


class StaffUser(Base):
    """A staff member: argon2 password hash and an encrypted TOTP secret (both factors mandatory)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    totp_secret_enc: Mapped[str] = mapped_column(String(255), info=encrypted(TOTP_PURPOSE))
    # A new account (password and TOTP secret set by an admin) must choose its own password and enrol a
    # new TOTP secret before its first session; the secret being enrolled waits here.
    must_change_credentials: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    totp_pending_enc: Mapped[str | None] = mapped_column(String(255), info=encrypted(TOTP_PENDING_PURPOSE))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class StaffSession(Base):
    """A login session; only the SHA-256 of the bearer token is stored."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
