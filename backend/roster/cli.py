"""``python -m backend roster import FILE [--product ID] [--actor NAME]``.

Exit codes: 0 when the file was processed (even with rejected rows), 1 when the file cannot be read
or is not a roster (nothing imported), 2 for an unknown product.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from backend.db import session_scope
from backend.errors import NotFound
from backend.roster.csvfile import RosterFileError
from backend.roster.service import import_roster
from backend.runtime import Runtime

MAX_REJECTIONS_SHOWN = 200


def register(subparsers: Any) -> None:
    """Add the ``roster`` command group."""
    roster = subparsers.add_parser("roster", help="insured roster (名单)")
    sub = roster.add_subparsers(dest="roster_command", required=True)
    imp = sub.add_parser("import", help="import a roster CSV (姓名,身份证号,户籍区县,手机号,地址)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--product", default=None, help="product id (default: the default product)")
    imp.add_argument("--actor", default=None, help="who runs the import (default: the OS user)")
    imp.set_defaults(handler=_import)


def _actor(args: argparse.Namespace) -> str:
    if args.actor:
        return str(args.actor)
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def _import(args: argparse.Namespace, runtime: Runtime) -> int:
    path: Path = args.file
    try:
        product = runtime.catalog.get(args.product)
    except NotFound:
        print(f"没有这个产品 / unknown product: {args.product}", file=sys.stderr)
        return 2
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"读不了文件 {path}：{exc.strerror or type(exc).__name__}，没有导入任何数据。", file=sys.stderr)
        return 1
    try:
        with session_scope(runtime.sessions) as session:
            report = import_roster(session, cipher=runtime.cipher, product=product, data=data,
                                   file_name=path.name, actor=_actor(args))
    except RosterFileError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"名单导入 / roster import #{report.import_id}: {path.name} ({report.encoding}, "
          f"sha256 {report.file_sha256[:12]}…), 产品 {product.id}")
    if report.seen_before:
        print("注意：这个文件之前已经导入过 / this exact file was imported before")
    print(f"  读取 read        {report.rows_read:>8}")
    print(f"  新增 new         {report.imported_new:>8}")
    print(f"  更新 updated     {report.updated:>8}")
    print(f"  未变 unchanged   {report.unchanged:>8}")
    print(f"  拒绝 rejected    {report.rejected:>8}")
    if report.rejections:
        print("被拒绝的行 / rejected lines:")
        for r in report.rejections[:MAX_REJECTIONS_SHOWN]:
            print(f"  第 {r.line} 行 [{r.code}] {r.reason}  {r.masked}")
        if report.rejected > MAX_REJECTIONS_SHOWN:
            print(f"  …另有 {report.rejected - MAX_REJECTIONS_SHOWN} 行，见导入记录 #{report.import_id}")
    return 0
