"""Start-up cost of the `ogi` command: `ogi --help`, an argument error and `ogi --version`,
against a bare interpreter (`python -c pass`). The target: within 0.15 s of the bare start.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15]

Prints the median and best wall time of each, and the difference to the bare interpreter.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY = "from helpers.cli import entry; entry()"
CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "ogi --help": [sys.executable, "-c", ENTRY, "--help"],
    "ogi --version": [sys.executable, "-c", ENTRY, "--version"],
    "ogi parse --bogus (argument error)": [sys.executable, "-c", ENTRY, "parse", "--bogus"],
    "ogi query --help": [sys.executable, "-c", ENTRY, "query", "--help"],
}
TARGET = 0.15


def timed(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    # Interleave the cases run by run so that a busy machine weighs on all of them alike.
    times: dict[str, list[float]] = {k: [] for k in CASES}
    for _ in range(args.runs):
        for name, cmd in CASES.items():
            times[name] += timed(cmd, 1)
    bare = statistics.median(times["python -c pass"])
    print(f"{'case':<38} {'median s':>9} {'best s':>8} {'over bare':>10}")
    worst = 0.0
    for name, ts in times.items():
        med = statistics.median(ts)
        over = med - bare
        if name != "python -c pass":
            worst = max(worst, over)
        print(f"{name:<38} {med:>9.3f} {min(ts):>8.3f} {over:>+10.3f}")
    print(f"worst median over a bare interpreter: {worst:.3f} s (target {TARGET} s): "
          f"{'met' if worst <= TARGET else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
