"""First login of a new account (A-01): the admin who created it knows its password and TOTP secret, so
before its first session the owner chooses a password and enrols a new TOTP secret.

1. ``POST /staff/api/auth/first-login/start`` with the given password and a code of the given secret:
   a new secret is made and kept as pending (encrypted); it is shown once, to be scanned.
2. ``POST /staff/api/auth/first-login/finish`` with the given password, a code of the *new* secret and
   a new password: the password is replaced, the new secret becomes the account's, and a session opens.

Both steps check the factors through ``backend.staff.auth.login`` (failures count towards the lockout,
``first_login`` is answered only after both factors are right); both are audited. Starting again
replaces the pending secret (one lost before it was scanned).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.audit.service import record_event
from backend.security.crypto import FieldCipher
from backend.staff.models import TOTP_PENDING_PURPOSE, TOTP_PURPOSE, StaffUser
from backend.staff.service import PasswordPolicy, new_totp, set_password


@dataclass(frozen=True)
class PendingTotp:
    """The new TOTP secret and its otpauth URI, shown once."""

    secret: str
    otpauth_uri: str


def start_enrolment(session: Session, *, cipher: FieldCipher, staff: StaffUser, issuer: str,
                    ip: str | None, now: dt.datetime) -> PendingTotp:
    """Make a new TOTP secret for a first login, kept encrypted as pending (the old one still counts)."""
    secret, uri = new_totp(username=staff.username, issuer=issuer)
    staff.totp_pending_enc = cipher.encrypt(secret, purpose=TOTP_PENDING_PURPOSE)
    staff.updated_at = now
    record_event(session, actor=staff.username, action="totp_enrolment", object_type="staff",
                 object_id=staff.id, ip=ip, result="started", at=now)
    session.flush()
    return PendingTotp(secret=secret, otpauth_uri=uri)


def finish_enrolment(session: Session, *, cipher: FieldCipher, staff: StaffUser, new_password: str,
                     policy: PasswordPolicy, ip: str | None, now: dt.datetime) -> None:
    """Set the owner's password (policy enforced) and make the pending TOTP secret the account's
    (``login(pending_totp=True)`` has checked a code of it and recorded its time step)."""
    assert staff.totp_pending_enc is not None  # login(pending_totp=True) matched a code of it
    set_password(session, staff=staff, new_password=new_password, actor=staff.username, ip=ip,
                 policy=policy, now=now)
    secret = cipher.decrypt(staff.totp_pending_enc, purpose=TOTP_PENDING_PURPOSE)
    staff.totp_secret_enc = cipher.encrypt(secret, purpose=TOTP_PURPOSE)
    staff.totp_pending_enc = None
    staff.must_change_credentials = False
    staff.updated_at = now
    record_event(session, actor=staff.username, action="totp_enrolment", object_type="staff",
                 object_id=staff.id, ip=ip, result="completed", at=now)
    session.flush()
