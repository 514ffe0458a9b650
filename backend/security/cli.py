"""``python -m backend crypto rotate [--batch 500]`` and ``python -m backend crypto status``.

``rotate`` re-encrypts every value not made with the active key (``CS_CRYPTO__ACTIVE_KEY_ID``), one
commit per batch (see ``backend.security.rotation``); run it again after an interruption. ``status``
prints how many values each key id still encrypts, per column: retire a key only at zero.
"""

from __future__ import annotations

import argparse
from typing import Any

import backend.model_registry  # noqa: F401  every model, so the registry of encrypted columns is complete
from backend.db import session_scope
from backend.runtime import Runtime
from backend.security.rotation import ColumnRotation, key_status, rotate_all


def _rotate(args: argparse.Namespace, runtime: Runtime) -> int:
    cipher = runtime.cipher
    print(f"active key / 当前密钥: {cipher.active_key_id}; batch {args.batch}")

    def progress(report: ColumnRotation) -> None:
        if args.verbose:
            print(f"  … {report.column.label}: {report.rotated} re-encrypted so far", flush=True)

    reports = rotate_all(runtime.sessions, cipher=cipher, batch=args.batch, progress=progress)
    for r in reports:
        line = f"{r.column.label}: re-encrypted {r.rotated}"
        if r.changed_meanwhile:
            line += f", changed meanwhile {r.changed_meanwhile}"
        if r.failed:
            line += f", CANNOT DECRYPT {r.failed} (ids {', '.join(map(str, r.failed_ids))}…)"
        print(line)
    total, failed = sum(r.rotated for r in reports), sum(r.failed for r in reports)
    print(f"total / 合计: re-encrypted {total}, cannot decrypt {failed}")
    return 1 if failed else 0


def _status(_args: argparse.Namespace, runtime: Runtime) -> int:
    cipher = runtime.cipher
    with session_scope(runtime.sessions) as session:
        status = key_status(session, cipher=cipher)
    print(f"active key / 当前密钥: {cipher.active_key_id}")
    totals: dict[str, int] = {}
    for label, counts in status.items():
        shown = ", ".join(f"{kid}={n}" for kid, n in counts.items()) or "(empty)"
        print(f"{label}: {shown}")
        for kid, n in counts.items():
            totals[kid] = totals.get(kid, 0) + n
    print("total / 合计: " + (", ".join(f"{kid}={n}" for kid, n in sorted(totals.items())) or "(empty)"))
    stale = sum(n for kid, n in totals.items() if kid != cipher.active_key_id)
    if stale:
        print(f"{stale} values are not on the active key: run `python -m backend crypto rotate`")
    return 0


def _batch(value: str) -> int:
    n = int(value)
    if not 1 <= n <= 100_000:
        raise argparse.ArgumentTypeError("batch must be between 1 and 100000")
    return n


def register(subparsers: Any) -> None:
    """Add ``crypto rotate`` and ``crypto status``."""
    crypto = subparsers.add_parser("crypto", help="field encryption keys")
    sub = crypto.add_subparsers(dest="crypto_command", required=True)
    rotate = sub.add_parser("rotate", help="re-encrypt every value with the active key")
    rotate.add_argument("--batch", type=_batch, default=500, help="rows per transaction (default 500)")
    rotate.add_argument("--verbose", action="store_true", help="print progress after every batch")
    rotate.set_defaults(handler=_rotate)
    sub.add_parser("status", help="how many values each key id encrypts").set_defaults(handler=_status)
