"""Shared helpers for staff tests: create accounts and compute TOTP codes at a given time."""

from __future__ import annotations

import datetime as dt

import pyotp
from sqlalchemy.orm import Session

from backend.security.crypto import FieldCipher
from backend.staff.auth import AuthTimeouts
from backend.staff.service import Enrolment, create_staff

PASSWORD = "Chaonan#2026ok"
T0 = dt.datetime(2026, 3, 2, 1, 0, 0, tzinfo=dt.UTC)
LIMITS = AuthTimeouts(idle_timeout_s=900, absolute_timeout_s=8 * 3600, max_failed_logins=5,
                      lockout_s=900)


def make_staff(db: Session, cipher: FieldCipher, username: str = "alice", role: str = "claims_officer",
               *, password: str = PASSWORD, now: dt.datetime = T0) -> Enrolment:
    return create_staff(db, cipher=cipher, username=username, role=role, password=password,
                        display_name="测试员", actor="test", now=now)


def code_at(secret: str, when: dt.datetime) -> str:
    return pyotp.TOTP(secret).at(when)
