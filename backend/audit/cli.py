"""``python -m backend audit verify``: walk the keyed audit chain and hold it against the newest signed
checkpoint (``backend.audit.anchor``); exit 1 when it was rewritten, cut or cannot be checked.
``audit checkpoint`` writes a checkpoint now (the worker writes one every minute)."""

from __future__ import annotations

import argparse
from typing import Any

from backend.audit.anchor import ChainBroken, verify_anchored, write_checkpoint
from backend.db import session_scope
from backend.runtime import Runtime


def _verify(_args: argparse.Namespace, runtime: Runtime) -> int:
    anchor_dir = runtime.settings.audit_anchor_dir
    with session_scope(runtime.sessions) as session:
        result = verify_anchored(session, anchor_dir=anchor_dir)
    report, cp = result.chain, result.checkpoint
    if report.ok:
        where = f"; newest checkpoint seq {cp.seq} at {cp.at}" if cp else ""
        print(f"审计日志完整 / audit chain OK: {report.checked} records{where}")
        return 0
    print(
        f"审计日志被篡改或无法核对 / audit chain BROKEN at seq {report.broken_seq} (id {report.broken_id}): "
        f"{report.reason}; {report.checked} records checked"
    )
    return 1


def _checkpoint(_args: argparse.Namespace, runtime: Runtime) -> int:
    try:
        with session_scope(runtime.sessions) as session:
            cp = write_checkpoint(session, anchor_dir=runtime.settings.audit_anchor_dir)
    except ChainBroken as exc:
        print(f"审计日志被篡改，未写检查点 / audit chain BROKEN at seq {exc.report.broken_seq}: "
              f"{exc.report.reason}; no checkpoint written")
        return 1
    print(f"检查点 / checkpoint: seq {cp.seq} at {cp.at}" if cp else "检查点已是最新 / checkpoint up to date")
    return 0


def register(subparsers: Any) -> None:
    """Add ``audit verify`` and ``audit checkpoint``."""
    audit = subparsers.add_parser("audit", help="audit log")
    sub = audit.add_subparsers(dest="audit_command", required=True)
    sub.add_parser("verify", help="verify the audit chain and its signed checkpoints").set_defaults(
        handler=_verify)
    sub.add_parser("checkpoint", help="verify the records since the last checkpoint, then sign the head"
                   ).set_defaults(handler=_checkpoint)
