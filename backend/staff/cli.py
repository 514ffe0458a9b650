"""``python -m backend staff create USERNAME --role admin [--display-name …]``; in local mode,
``python -m backend staff demo-codes`` (the demo accounts' current TOTP codes).

The password comes from ``CS_NEW_STAFF_PASSWORD`` or is asked for twice without echo. The TOTP
secret and its otpauth URI are printed once: scan them into an authenticator app right away.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from backend.db import session_scope
from backend.errors import ServiceError
from backend.runtime import Runtime
from backend.staff.models import Role
from backend.staff.service import create_staff, policy_from

PASSWORD_ENV = "CS_NEW_STAFF_PASSWORD"  # noqa: S105  (an env var name)


def _read_password() -> str | None:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    first = getpass.getpass("密码 / password: ")
    second = getpass.getpass("再输一次 / again: ")
    if first != second:
        print("两次输入的密码不一样 / the passwords differ", file=sys.stderr)
        return None
    return first


def _create(args: argparse.Namespace, runtime: Runtime) -> int:
    password = _read_password()
    if password is None:
        return 1
    try:
        with session_scope(runtime.sessions) as session:
            enrolment = create_staff(
                session, cipher=runtime.cipher, username=args.username, role=args.role,
                password=password, display_name=args.display_name, actor="cli",
                issuer=runtime.settings.auth.totp_issuer, policy=policy_from(runtime.settings.auth),
            )
            username, role = enrolment.staff.username, enrolment.staff.role
    except ServiceError as exc:
        print(f"没有创建 / not created: {exc.message}", file=sys.stderr)
        return 1
    print(f"已创建员工 / created staff {username} ({role})")
    print("第一次登录时须设置自己的密码并重新绑定动态码 / at first login the account sets its own password "
          "and enrols a new TOTP secret (POST /staff/api/auth/first-login/start, then …/finish)")
    print("请立即用身份验证器 App 扫描或输入下面的密钥，它只显示这一次 / shown once:")
    print(f"TOTP secret: {enrolment.totp_secret}")
    print(f"otpauth URI: {enrolment.otpauth_uri}")
    return 0


def _demo_codes(_args: argparse.Namespace, runtime: Runtime) -> int:
    from backend.staff.startup import DEMO_PASSWORD, demo_logins

    if runtime.settings.mode != "local":
        print("演示账号只在本地模式存在 / demo accounts exist in local mode only", file=sys.stderr)
        return 1
    with session_scope(runtime.sessions) as session:
        logins = demo_logins(session, cipher=runtime.cipher)
    if not logins:
        print("还没有演示账号：先运行 make run / no demo accounts yet: run `make run` once", file=sys.stderr)
        return 1
    now = runtime.clock()
    for login in logins:
        print(f"{login.username}  password {DEMO_PASSWORD}  code {login.code(now)}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``staff create`` and ``staff demo-codes``."""
    staff = subparsers.add_parser("staff", help="staff accounts")
    sub = staff.add_subparsers(dest="staff_command", required=True)
    create = sub.add_parser("create", help="add a staff member (e.g. the first admin)")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--display-name", default=None)
    create.set_defaults(handler=_create)
    demo = sub.add_parser("demo-codes", help="local mode: the demo accounts' current TOTP codes")
    demo.set_defaults(handler=_demo_codes)
