"""Run every benchmark under tests/bench/ (``make bench``), one after another, each in its own process.

The benchmarks are scripts (``bench_*.py``), not collected by the normal test run. Each prints its
figures as ratios to a baseline measured in the same run, with the spread across repeats as the
machine's noise.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def main(argv: list[str]) -> int:
    wanted = set(argv)
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        if wanted and script.stem not in wanted and script.stem.removeprefix("bench_") not in wanted:
            continue
        print(f"\n===== {script.name} =====", flush=True)
        rc = subprocess.call([sys.executable, str(script)], cwd=ROOT)
        if rc:
            failed.append(script.name)
    if failed:
        print(f"\nbenchmarks that missed a target or failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
