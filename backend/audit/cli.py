"""``python -m backend audit verify``: walk the audit hash chain; exit 1 at the first broken record."""

from __future__ import annotations

import argparse
from typing import Any

from backend.audit.service import verify_chain
from backend.db import session_scope
from backend.runtime import Runtime


def _verify(_args: argparse.Namespace, runtime: Runtime) -> int:
    with session_scope(runtime.sessions) as session:
        report = verify_chain(session)
    if report.ok:
        print(f"审计日志完整 / audit chain OK: {report.checked} records")
        return 0
    print(
        f"审计日志被篡改 / audit chain BROKEN at seq {report.broken_seq} (id {report.broken_id}): "
        f"{report.reason}; {report.checked} records before it are intact"
    )
    return 1


def register(subparsers: Any) -> None:
    """Add ``audit verify``."""
    audit = subparsers.add_parser("audit", help="audit log")
    sub = audit.add_subparsers(dest="audit_command", required=True)
    sub.add_parser("verify", help="verify the audit hash chain").set_defaults(handler=_verify)
