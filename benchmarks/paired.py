"""Parse speed of this checkout against an earlier commit, measured side by side.

The committed figures of benchmarks/baseline.json were taken on the machine as it was then (other
fonts installed, other load); a ratio against them mixes the code's change with the machine's. This
script checks REV out into a temporary git worktree and runs the same timing loop (read_report of the
dev HTML pages, generated Word-export pages and the huaian PDF, CPU time) in both trees at once, both
pinned to one core, so that both see the same machine; it prints reports/s of each and their ratio.
Run: .venv/bin/python benchmarks/paired.py [REV] [--rounds 4]  (REV: the baseline commit, 15af7ca)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_REV = "15af7ca"  # the commit that wrote benchmarks/baseline.json (before issue 11's alignment)

# Run in each tree with that tree first on sys.path; prints one JSON line of best reports/s per sample.
_TIMING = r"""
import json, random, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from helpers import read_report
from helpers.synth import random_report, render
corpus = Path(sys.argv[3])
samples = {"HTML dev pages": sorted(corpus.glob("*/report.html")),
           "PDF huaian-gov-2024": [p for p in [corpus / "huaian-gov-2024" / "report.pdf"] if p.is_file()]}
tmp, rng, gen = Path(tempfile.mkdtemp()), random.Random(7), []
for i in range(12):
    rep = random_report(rng.randrange(10**9), template=rng.choice(["2019", "2021"]))
    out = render(rep, "html", rng=i, mso=True, full_page=True, pad_kb=rng.choice([100, 180, 250, 350]))
    (tmp / f"gen{i}{out.suffix}").write_bytes(out.data)
    gen.append(tmp / f"gen{i}{out.suffix}")
samples["HTML generated pages"] = gen
samples = {k: v for k, v in samples.items() if v}
for items in samples.values():
    read_report(items[0])
best = {}
for _ in range(int(sys.argv[2])):
    for name, items in samples.items():
        n, t0 = 0, time.process_time()
        while time.process_time() - t0 < 2:
            for p in items:
                read_report(p)
            n += len(items)
        best[name] = max(best.get(name, 0.0), n / (time.process_time() - t0))
print(json.dumps(best))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", nargs="?", default=BASELINE_REV, help="the commit to compare against")
    ap.add_argument("--rounds", type=int, default=4, help="timing rounds per sample (the best is kept)")
    args = ap.parse_args()
    corpus = ROOT.parent / "shared" / "corpus"
    core = str(min(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else None
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old), args.rev], check=True)
        try:
            procs = []
            for tree in (old, ROOT):
                cmd = [sys.executable, "-c", _TIMING, str(tree), str(args.rounds), str(corpus)]
                if core is not None:
                    cmd = ["taskset", "-c", core, *cmd]
                procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=tree))
            before, now = (json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    print(f"side by side on core {core}, best of {args.rounds} rounds of 2 CPU s; reports/s per CPU second")
    print(f"{'sample':28} {args.rev[:10]:>10} {'now':>8} {'now/then':>9}")
    for name in now:
        print(f"{name:28} {before[name]:>10.1f} {now[name]:>8.1f} {now[name] / before[name]:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
