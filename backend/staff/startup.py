"""The staff domain's start-up hook: in local mode, demo accounts so a newcomer can try the console.

``make run`` (local mode) creates a demo supervisor and a demo agent the first time, with a known
password and a TOTP secret kept in the database, and prints at every start how to log in: the console
address, the names, the password, the secret (for an authenticator app) and the current 6-digit code.
``python -m backend staff demo-codes`` prints fresh codes later. In production mode nothing happens.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass

import pyotp
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import session_scope
from backend.errors import Conflict
from backend.runtime import Runtime
from backend.security.crypto import FieldCipher
from backend.staff.models import TOTP_PURPOSE, Role, StaffUser
from backend.staff.service import create_staff

log = logging.getLogger(__name__)

# Published with the source, like the other local-mode values: these accounts exist only in local mode.
DEMO_PASSWORD = "Chaonan#Demo2026"  # noqa: S105
DEMO_ACCOUNTS = (("demo.supervisor", Role.SUPERVISOR, "演示主管"), ("demo.agent", Role.AGENT, "演示客服"))


@dataclass(frozen=True)
class DemoLogin:
    """How to log in as one demo account."""

    username: str
    role: str
    totp_secret: str

    def code(self, now: dt.datetime) -> str:
        """The 6-digit code at ``now``."""
        return pyotp.TOTP(self.totp_secret).at(now)


def ensure_demo_accounts(session: Session, *, cipher: FieldCipher, now: dt.datetime) -> list[DemoLogin]:
    """Create the demo accounts that do not exist yet (never twice); every demo account's login."""
    logins = []
    for username, role, display_name in DEMO_ACCOUNTS:
        staff = session.scalar(select(StaffUser).where(StaffUser.username == username))
        if staff is None:
            staff = create_staff(session, cipher=cipher, username=username, role=role.value,
                                 password=DEMO_PASSWORD, display_name=display_name, actor="demo",
                                 now=now, first_login_change=False).staff
        secret = cipher.decrypt(staff.totp_secret_enc, purpose=TOTP_PURPOSE)
        logins.append(DemoLogin(username=username, role=staff.role, totp_secret=secret))
    return logins


def demo_logins(session: Session, *, cipher: FieldCipher) -> list[DemoLogin]:
    """The demo accounts that exist (for ``staff demo-codes``)."""
    names = [name for name, _role, _display in DEMO_ACCOUNTS]
    rows = session.scalars(select(StaffUser).where(StaffUser.username.in_(names)).order_by(StaffUser.id))
    return [DemoLogin(username=s.username, role=s.role,
                      totp_secret=cipher.decrypt(s.totp_secret_enc, purpose=TOTP_PURPOSE)) for s in rows]


def login_help(logins: list[DemoLogin], *, now: dt.datetime, base_url: str) -> str:
    """The lines printed at start-up: where to go and how to log in."""
    lines = ["", "=" * 72, "本地演示 / local demo:",
             f"  客户聊天页 / customer chat page:  {base_url}/chat/",
             f"  客服工作台 / agent console:       {base_url}/console/   (主管看板: /console/dashboard)",
             f"  密码 / password (all demo accounts): {DEMO_PASSWORD}"]
    for login in logins:
        lines.append(f"  {login.role:<11} {login.username:<16} TOTP secret {login.totp_secret}  "
                     f"code now {login.code(now)}")
    lines += ["  动态码每30秒变一次 / codes change every 30 s: `python -m backend staff demo-codes`,",
              "  or add the secret to an authenticator app.", "=" * 72]
    return "\n".join(lines)


def startup(runtime: Runtime) -> None:
    """Local mode only: the demo accounts (created once) and how to log in, printed (unless the
    settings turn them off)."""
    if runtime.settings.mode != "local" or not runtime.settings.demo_accounts:
        return
    now = runtime.clock()
    # write=True: on SQLite the check and the creation hold the write lock (processes starting together
    # wait for each other); elsewhere a process that loses the race finds the winner's accounts.
    try:
        with session_scope(runtime.sessions, write=True) as session:
            logins = ensure_demo_accounts(session, cipher=runtime.cipher, now=now)
    except (IntegrityError, Conflict):  # another process created them meanwhile (username_taken)
        with session_scope(runtime.sessions, write=True) as session:
            logins = ensure_demo_accounts(session, cipher=runtime.cipher, now=now)
    log.info("local mode: demo accounts %s ready", ", ".join(login.username for login in logins))
    # ``serve`` puts its --host and --port there (``make run``: 127.0.0.1:8000 unless HOST/PORT).
    host = os.environ.get("HOST") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104  (a URL to open, not a bind)
    base_url = f"http://{host}:{os.environ.get('PORT') or '8000'}"
    print(login_help(logins, now=now, base_url=base_url), flush=True)
